/**
 * A dialog that is one form with one action: the fields, the action's error below them, and a footer
 * with Cancel and the submit button ("Save", or the dialog's own label), which is off until the form is
 * `ready` and while the action runs (see useSubmit).
 */
import type { ComponentChildren } from 'preact';
import type { SubmitState } from '../hooks.js';
import { ApiErrorAlert } from './Alert.js';
import { Modal } from './Modal.js';

export function FormDialog(props: {
  title: string;
  wide?: boolean;
  onClose: () => void;
  onSubmit: () => void;
  /** whether the form can be submitted (it cannot while busy, either) */
  ready: boolean;
  state: SubmitState;
  /** the title of the alert showing the action's error */
  errorTitle: string;
  submitLabel?: string;
  busyLabel?: string;
  children: ComponentChildren;
}) {
  const { busy, error } = props.state;
  const disabled = !props.ready || busy;
  return (
    <Modal
      title={props.title}
      wide={props.wide}
      onClose={props.onClose}
      onSubmit={() => {
        if (!disabled) props.onSubmit();
      }}
      footer={
        <>
          <button type="button" class="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={disabled}>
            {busy ? (props.busyLabel ?? 'Saving…') : (props.submitLabel ?? 'Save')}
          </button>
        </>
      }
    >
      {props.children}
      {error && <ApiErrorAlert title={props.errorTitle} error={error} />}
    </Modal>
  );
}
