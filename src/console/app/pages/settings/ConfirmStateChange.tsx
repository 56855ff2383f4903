/**
 * EC2's confirmations before an instance state change: stop, force stop, hibernate, reboot and
 * terminate each ask first, naming the instances (a long selection is summarised, not listed whole).
 */
import type { Instance } from '@aws-sdk/client-ec2';
import type { ComponentChildren } from 'preact';
import { Modal } from '../../components/Modal.js';
import { count, nameOf, someOf } from '../../format.js';
import type { StateAction } from '../../list/actions.js';

interface StateActionSpec {
  /** the menu item */
  readonly label: string;
  /** "stop" in "Could not stop …" */
  readonly verb: string;
  /** "Stopping" in the notice */
  readonly doing: string;
  /** the dialog: title for one instance and for several, what it says, its button */
  readonly title: (n: number) => string;
  readonly body: ComponentChildren;
  readonly confirm: string;
  readonly danger: boolean;
}

const instances = (n: number) => (n === 1 ? 'instance' : `${count(n)} instances`);

export const STATE_ACTIONS: Record<StateAction, StateActionSpec> = {
  start: {
    label: 'Start instance',
    verb: 'start',
    doing: 'Starting',
    title: (n) => `Start ${instances(n)}?`,
    body: null,
    confirm: 'Start',
    danger: false,
  },
  stop: {
    label: 'Stop instance',
    verb: 'stop',
    doing: 'Stopping',
    title: (n) => `Stop ${instances(n)}?`,
    body: (
      <p>
        The operating system shuts down and the instance stops. Its EBS root volume is kept, and you can start it again; its
        public IPv4 address is released and a new one is given at the next start.
      </p>
    ),
    confirm: 'Stop',
    danger: false,
  },
  'force-stop': {
    label: 'Force stop instance',
    verb: 'force-stop',
    doing: 'Force-stopping',
    title: (n) => `Force stop ${instances(n)}?`,
    body: (
      <p>
        Force stop skips the operating system's shutdown: the instance is stopped at once, like pulling the power cord.
        Data not yet written to disk is lost, and the file system may need repair at the next start. Use it only for an
        instance that does not stop by itself.
      </p>
    ),
    confirm: 'Force stop',
    danger: true,
  },
  hibernate: {
    label: 'Hibernate instance',
    verb: 'hibernate',
    doing: 'Hibernating',
    title: (n) => `Hibernate ${instances(n)}?`,
    body: (
      <p>
        The contents of memory are saved to the EBS root volume and the instance stops. When you start it again, its
        processes carry on where they were.
      </p>
    ),
    confirm: 'Hibernate',
    danger: false,
  },
  reboot: {
    label: 'Reboot instance',
    verb: 'reboot',
    doing: 'Rebooting',
    title: (n) => `Reboot ${instances(n)}?`,
    body: <p>The operating system restarts. The instance keeps its public and private addresses and its volumes.</p>,
    confirm: 'Reboot',
    danger: false,
  },
  terminate: {
    label: 'Terminate (delete) instance',
    verb: 'terminate',
    doing: 'Terminating',
    title: (n) => `Terminate (delete) ${instances(n)}?`,
    body: (
      <p>
        Terminated instances cannot be started again: the instance and its root volume (unless it is set to be kept) are
        deleted. An instance with termination protection on is refused.
      </p>
    ),
    confirm: 'Terminate (delete)',
    danger: true,
  },
};

/** How many instances the dialog names before "and N more". */
const LISTED = 10;

export function ConfirmStateChange(props: {
  action: Exclude<StateAction, 'start'>;
  instances: readonly Instance[];
  onClose: () => void;
  onConfirm: () => void;
}) {
  const spec = STATE_ACTIONS[props.action];
  const some = someOf(props.instances, LISTED);
  return (
    <Modal
      title={spec.title(props.instances.length)}
      onClose={props.onClose}
      onSubmit={props.onConfirm}
      footer={
        <>
          <button type="button" class="button" autofocus onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={spec.danger ? 'button button-danger' : 'button button-primary'}>
            {spec.confirm}
          </button>
        </>
      }
    >
      {spec.body}
      <ul class="id-list" aria-label="Instances">
        {some.shown.map((i) => (
          <li key={i.InstanceId}>
            <code>{i.InstanceId}</code>
            {nameOf(i) && <span class="muted"> ({nameOf(i)})</span>}
          </li>
        ))}
      </ul>
      {some.more > 0 && <p class="muted">and {count(some.more)} more.</p>}
    </Modal>
  );
}
