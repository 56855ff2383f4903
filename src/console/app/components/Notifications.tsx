/** The flash bar: results of actions, kept across page changes. */
import { type ComponentChildren, createContext } from 'preact';
import { useCallback, useContext, useMemo, useState } from 'preact/hooks';
import type { ApiError } from '../api.js';
import { Alert, ApiErrorAlert } from './Alert.js';

type Notice =
  | { readonly id: number; readonly kind: 'success' | 'info'; readonly text: ComponentChildren }
  | { readonly id: number; readonly kind: 'error'; readonly title: string; readonly error: ApiError };

interface Notifier {
  success(text: ComponentChildren): void;
  failure(title: string, error: ApiError): void;
}

const NotifierContext = createContext<Notifier>({ success: () => {}, failure: () => {} });
export const useNotify = (): Notifier => useContext(NotifierContext);

const SUCCESS_MS = 10_000;
/** Older notices give way to newer ones. */
const MAX_SHOWN = 3;
let nextId = 1;

export function NotificationsProvider(props: { children: ComponentChildren }) {
  const [notices, setNotices] = useState<readonly Notice[]>([]);
  const dismiss = useCallback((id: number) => setNotices((n) => n.filter((x) => x.id !== id)), []);
  const notifier = useMemo<Notifier>(
    () => ({
      success(text) {
        const id = nextId++;
        setNotices((n) => [...n, { id, kind: 'success' as const, text }].slice(-MAX_SHOWN));
        setTimeout(() => dismiss(id), SUCCESS_MS);
      },
      failure(title, error) {
        setNotices((n) => [...n, { id: nextId++, kind: 'error' as const, title, error }].slice(-MAX_SHOWN));
      },
    }),
    [dismiss],
  );
  return (
    <NotifierContext.Provider value={notifier}>
      {notices.length > 0 && (
        <div class="flashbar" aria-live="polite">
          {notices.map((n) =>
            n.kind === 'error' ? (
              <ApiErrorAlert key={n.id} title={n.title} error={n.error} onDismiss={() => dismiss(n.id)} />
            ) : (
              <Alert key={n.id} kind={n.kind} onDismiss={() => dismiss(n.id)}>
                {n.text}
              </Alert>
            ),
          )}
        </div>
      )}
      {props.children}
    </NotifierContext.Provider>
  );
}
