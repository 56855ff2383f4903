/**
 * The flash bar: results of actions. A notice belongs to one page — the one it was raised on, or the
 * one the action goes to next (a launch reports on the list) — and leaves when the user moves on, so
 * notices never pile up across pages. Long lists of IDs are summarised by whoever raises them.
 */
import { type ComponentChildren, createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { Alert, ApiErrorAlert } from './Alert.js';

interface Base {
  readonly id: number;
  /** the page (route key) it is shown on */
  readonly on: string;
}
type Notice =
  | (Base & { readonly kind: 'success' | 'info'; readonly text: ComponentChildren })
  | (Base & { readonly kind: 'error'; readonly title: string; readonly error: ApiError });

export interface NoticeOptions {
  /** the page to show it on (a route key, see routeKey); default: the page it is raised on */
  readonly on?: string;
}

interface Notifier {
  success(text: ComponentChildren, opts?: NoticeOptions): void;
  failure(title: string, error: ApiError, opts?: NoticeOptions): void;
}

const NotifierContext = createContext<Notifier>({ success: () => {}, failure: () => {} });
export const useNotify = (): Notifier => useContext(NotifierContext);

const SUCCESS_MS = 10_000;
/** Older notices give way to newer ones. */
const MAX_SHOWN = 3;
let nextId = 1;

export function NotificationsProvider(props: { page: string; children: ComponentChildren }) {
  const [notices, setNotices] = useState<readonly Notice[]>([]);
  const page = useRef(props.page);
  page.current = props.page;
  const dismiss = useCallback((id: number) => setNotices((n) => n.filter((x) => x.id !== id)), []);
  const add = useCallback((notice: Notice) => setNotices((n) => [...n, notice].slice(-MAX_SHOWN)), []);
  const notifier = useMemo<Notifier>(
    () => ({
      success(text, opts) {
        const id = nextId++;
        add({ id, on: opts?.on ?? page.current, kind: 'success', text });
        setTimeout(() => dismiss(id), SUCCESS_MS);
      },
      failure(title, error, opts) {
        add({ id: nextId++, on: opts?.on ?? page.current, kind: 'error', title, error });
      },
    }),
    [add, dismiss],
  );
  // Moving to another page leaves the notices of the one before behind.
  useEffect(() => setNotices((n) => (n.every((x) => x.on === props.page) ? n : n.filter((x) => x.on === props.page))), [props.page]);

  const shown = notices.filter((n) => n.on === props.page);
  return (
    <NotifierContext.Provider value={notifier}>
      <div class="flashbar" aria-live="polite" hidden={shown.length === 0}>
        {shown.map((n) =>
          n.kind === 'error' ? (
            <ApiErrorAlert key={n.id} title={n.title} error={n.error} onDismiss={() => dismiss(n.id)} />
          ) : (
            <Alert key={n.id} kind={n.kind} onDismiss={() => dismiss(n.id)}>
              {n.text}
            </Alert>
          ),
        )}
      </div>
      {props.children}
    </NotifierContext.Provider>
  );
}
