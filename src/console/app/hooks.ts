/** Loading and polling, paused while the tab is hidden. */
import { useCallback, useEffect, useReducer, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';

export const asApiError = (err: unknown): ApiError =>
  err instanceof ApiError ? err : new ApiError('Error', err instanceof Error ? err.message : String(err));

export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: ApiError | undefined;
  readonly loading: boolean;
  /** loads again now (and, when polling, restarts the interval) */
  readonly reload: () => void;
}

/**
 * Loads `load()` when `deps` change and, with `intervalMs`, again every interval after the previous
 * load finished (never two at once), while the page is visible. Data stays while a reload runs.
 */
export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[], intervalMs?: number): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  usePolling(
    async (isCurrent) => {
      try {
        const data = await loadRef.current();
        if (isCurrent()) setState({ data, loading: false });
      } catch (err) {
        if (isCurrent()) setState((s) => ({ ...s, error: asApiError(err), loading: false }));
      }
    },
    intervalMs,
    [...deps, tick],
    () => setState((s) => ({ ...s, loading: true })),
  );

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/**
 * Runs `run` when `deps` change and then, with `intervalMs`, again every interval after the previous
 * run finished (never two at once), while the page is visible; a hidden tab stops, and coming back runs
 * at once. `isCurrent()` tells a run whether its deps are still the current ones.
 */
export function usePolling(
  run: (isCurrent: () => boolean) => Promise<void>,
  intervalMs: number | undefined,
  deps: readonly unknown[],
  onStart?: () => void,
  /** the first run waits an interval too (the data is fresh already) */
  delayFirst = false,
): void {
  const runRef = useRef(run);
  runRef.current = run;
  useEffect(() => {
    let cancelled = false;
    let inFlight = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const isCurrent = () => !cancelled;
    const tick = async () => {
      timer = undefined;
      inFlight = true;
      try {
        await runRef.current(isCurrent);
      } finally {
        inFlight = false;
      }
      if (!cancelled && intervalMs !== undefined && !document.hidden) timer = setTimeout(tick, intervalMs);
    };
    const onVisibility = () => {
      if (intervalMs !== undefined && !document.hidden && timer === undefined && !inFlight) void tick();
    };
    onStart?.();
    if (delayFirst && intervalMs !== undefined) timer = setTimeout(tick, intervalMs);
    else void tick();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [...deps, intervalMs]);
}

/** A value kept in localStorage (JSON), checked by `read` when loaded; the default when absent or unreadable. */
export function useStoredState<T>(key: string, read: (raw: unknown) => T | undefined, fallback: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      return read(JSON.parse(localStorage.getItem(key) ?? 'null')) ?? fallback;
    } catch {
      return fallback;
    }
  });
  const save = useCallback(
    (next: T) => {
      setValue(next);
      try {
        localStorage.setItem(key, JSON.stringify(next));
      } catch {
        // storage full or refused: the choice lasts for this page only
      }
    },
    [key],
  );
  return [value, save];
}

/** The current value of a store that notifies its subscribers of every change (list/store.ts). */
export function useSubscription<T>(store: { get(): T; subscribe(listener: () => void): () => void }): T {
  const [, changed] = useReducer((n: number, _: void) => n + 1, 0);
  useEffect(() => {
    const unsubscribe = store.subscribe(changed);
    changed(); // whatever changed between the render and this subscription
    return unsubscribe;
  }, [store]);
  return store.get();
}

/** What a dialog's one submit action is doing: running, or the error it ended with. */
export interface SubmitState {
  readonly busy: boolean;
  readonly error: ApiError | undefined;
}

/**
 * The busy/error state of a dialog's submit action. `submit(action)` marks it busy, clears the last
 * error and runs `action`; when that throws, the error is kept and the dialog is usable again. On success
 * it stays busy: the action closes the dialog (onChanged, onCreated).
 */
export function useSubmit(): SubmitState & { submit: (action: () => Promise<void>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const submit = async (action: () => Promise<void>) => {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };
  return { busy, error, submit };
}
