import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api.js';

export type AlertKind = 'error' | 'success' | 'info' | 'warning';

export function Alert(props: { kind: AlertKind; title?: string; children?: ComponentChildren; onDismiss?: () => void }) {
  return (
    <div class={`alert alert-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      <div class="alert-body">
        {props.title && <strong class="alert-title">{props.title}</strong>}
        {props.children && <div class="alert-text">{props.children}</div>}
      </div>
      {props.onDismiss && (
        <button type="button" class="icon-button" aria-label="Dismiss" onClick={props.onDismiss}>
          ×
        </button>
      )}
    </div>
  );
}

/** An API refusal exactly as the API gave it: EC2's code, then its message. */
export function ApiErrorAlert(props: { error: ApiError; title?: string; onDismiss?: () => void }) {
  const { error } = props;
  return (
    <Alert kind="error" title={props.title ?? 'The request failed'} onDismiss={props.onDismiss}>
      <p class="api-error">
        <code class="api-error-code">{error.code}</code> <span class="api-error-message">{error.message}</span>
      </p>
      {error.requestId && <p class="muted small">Request ID {error.requestId}</p>}
    </Alert>
  );
}
