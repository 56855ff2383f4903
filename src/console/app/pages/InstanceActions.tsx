/**
 * The Actions menu for the selected instances, on the list and on the details page: Connect (one
 * instance: the SSH command, or why it cannot work), Instance state (start, stop, reboot, terminate
 * after a confirmation) and Instance settings → Change CPU options.
 */
import type { Instance, InstanceStateChange } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import { type MenuGroup, MenuButton } from '../components/Menu.js';
import { Modal } from '../components/Modal.js';
import { useNotify } from '../components/Notifications.js';
import { useApi } from '../context.js';
import { asApiError } from '../hooks.js';
import { ChangeCpuOptions } from './ChangeCpuOptions.js';
import { ConnectDialog } from './ConnectDialog.js';

type Verb = 'start' | 'stop' | 'reboot' | 'terminate';
const VERBS: Record<Verb, { readonly label: string; readonly doing: string }> = {
  start: { label: 'Start instance', doing: 'Starting' },
  stop: { label: 'Stop instance', doing: 'Stopping' },
  reboot: { label: 'Reboot instance', doing: 'Rebooting' },
  terminate: { label: 'Terminate (delete) instance', doing: 'Terminating' },
};

const describeChange = (c: InstanceStateChange) =>
  `${c.InstanceId} (${c.PreviousState?.Name ?? '?'} → ${c.CurrentState?.Name ?? '?'})`;

/** Why Change CPU options is not offered for this selection, or undefined when it is. */
function cpuOptionsUnavailable(selected: readonly Instance[]): string | undefined {
  if (selected.length !== 1) return 'Select a single instance.';
  const [i] = selected as [Instance];
  const state = i.State?.Name;
  if (state === 'stopped') return undefined;
  return `Available only while the instance is stopped; ${i.InstanceId} is ${state}. Stop it first.`;
}

export function InstanceActions(props: { instances: readonly Instance[]; onChanged: () => void }) {
  const api = useApi();
  const notify = useNotify();
  const [dialog, setDialog] = useState<'connect' | 'terminate' | 'cpu-options'>();
  const selected = props.instances;
  const ids = selected.map((i) => i.InstanceId ?? '');

  const run = async (verb: Verb) => {
    try {
      if (verb === 'reboot') {
        await api.reboot(ids);
        notify.success(`Rebooting ${ids.join(', ')}`);
      } else {
        const changes = await api[verb](ids);
        notify.success(`${VERBS[verb].doing} ${changes.map(describeChange).join(', ')}`);
      }
    } catch (err) {
      notify.failure(`Could not ${verb} ${ids.join(', ')}`, asApiError(err));
    } finally {
      props.onChanged();
    }
  };

  const none = selected.length === 0 ? 'Select one or more instances.' : undefined;
  const groups: MenuGroup[] = [
    {
      items: [
        {
          label: 'Connect',
          disabledReason: selected.length === 1 ? undefined : 'Select a single instance.',
          onSelect: () => setDialog('connect'),
        },
      ],
    },
    {
      label: 'Instance state',
      items: (['start', 'stop', 'reboot', 'terminate'] as const).map((verb) => ({
        label: VERBS[verb].label,
        disabledReason: none,
        onSelect: () => (verb === 'terminate' ? setDialog('terminate') : void run(verb)),
      })),
    },
    {
      label: 'Instance settings',
      items: [
        { label: 'Change CPU options', disabledReason: cpuOptionsUnavailable(selected), onSelect: () => setDialog('cpu-options') },
      ],
    },
  ];

  return (
    <>
      <MenuButton label="Actions" groups={groups} disabled={selected.length === 0} />
      {dialog === 'terminate' && (
        <Modal
          title={`Terminate (delete) ${ids.length === 1 ? 'instance' : `${ids.length} instances`}?`}
          onClose={() => setDialog(undefined)}
          onSubmit={() => {
            setDialog(undefined);
            void run('terminate');
          }}
          footer={
            <>
              <button type="button" class="button" autofocus onClick={() => setDialog(undefined)}>
                Cancel
              </button>
              <button type="submit" class="button button-danger">
                Terminate
              </button>
            </>
          }
        >
          <p>Terminated instances cannot be started again. Their data is deleted.</p>
          <ul class="id-list">
            {ids.map((id) => (
              <li key={id}>
                <code>{id}</code>
              </li>
            ))}
          </ul>
        </Modal>
      )}
      {dialog === 'connect' && selected[0] && <ConnectDialog instance={selected[0]} onClose={() => setDialog(undefined)} />}
      {dialog === 'cpu-options' && selected[0] && (
        <ChangeCpuOptions
          instance={selected[0]}
          onClose={() => setDialog(undefined)}
          onChanged={() => {
            setDialog(undefined);
            props.onChanged();
          }}
        />
      )}
    </>
  );
}
