/** Loading and polling, paused while the tab is hidden. */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
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

  useEffect(() => {
    let cancelled = false;
    let inFlight = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const polling = intervalMs !== undefined;
    const run = async () => {
      timer = undefined;
      inFlight = true;
      try {
        const data = await loadRef.current();
        if (!cancelled) setState({ data, loading: false });
      } catch (err) {
        if (!cancelled) setState((s) => ({ ...s, error: asApiError(err), loading: false }));
      } finally {
        inFlight = false;
      }
      if (!cancelled && polling && !document.hidden) timer = setTimeout(run, intervalMs);
    };
    // Hidden tabs stop polling; coming back loads at once.
    const onVisibility = () => {
      if (polling && !document.hidden && timer === undefined && !inFlight) void run();
    };
    setState((s) => ({ ...s, loading: true }));
    void run();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      cancelled = true;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [...deps, tick, intervalMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
