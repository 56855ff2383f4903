/**
 * The Actions menu for the selected instances, on the list and on the details page, as EC2 has it: the
 * menu is always there, and an item that does not apply is greyed out with the reason beside it
 * (list/actions.ts). Connect and View details; Instance state — start, stop, force stop, hibernate,
 * reboot, terminate, each but start after EC2's confirmation; Instance settings — change CPU options,
 * change instance type, edit user data, manage tags, change termination protection.
 */
import type { Instance, InstanceStateChange } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import { type MenuGroup, type MenuItem, MenuButton } from '../components/Menu.js';
import { useNotify } from '../components/Notifications.js';
import { useApi, useInstanceStore } from '../context.js';
import { count, idList } from '../format.js';
import { asApiError } from '../hooks.js';
import { type InstanceAction, NOTHING_SELECTED, type StateAction, unavailableReason } from '../list/actions.js';
import { navigate } from '../router.js';
import { ChangeCpuOptions } from './ChangeCpuOptions.js';
import { ConnectDialog } from './ConnectDialog.js';
import { ChangeInstanceType } from './settings/ChangeInstanceType.js';
import { ConfirmStateChange, STATE_ACTIONS } from './settings/ConfirmStateChange.js';
import { EditUserData } from './settings/EditUserData.js';
import { ManageTags } from './settings/ManageTags.js';
import { TerminationProtection } from './settings/TerminationProtection.js';

type Dialog = Exclude<InstanceAction, 'details' | 'start'>;

const describeChange = (c: InstanceStateChange) => `${c.PreviousState?.Name ?? '?'} → ${c.CurrentState?.Name ?? '?'}`;

/** "Stopping i-0abc (running → stopping)" for one; "Stopping 205 instances: i-1, i-2, i-3 and 202 more" for many. */
function changed(doing: string, ids: readonly string[], changes: readonly InstanceStateChange[]): string {
  if (ids.length === 1) return `${doing} ${ids[0]}${changes[0] ? ` (${describeChange(changes[0])})` : ''}.`;
  return `${doing} ${count(ids.length)} instances: ${idList(ids)}.`;
}

export function InstanceActions(props: {
  instances: readonly Instance[];
  /** after a change went through (the details page reads its instance again) */
  onChanged?: () => void;
}) {
  const api = useApi();
  const store = useInstanceStore();
  const notify = useNotify();
  const [dialog, setDialog] = useState<Dialog>();
  const selected = props.instances;
  const ids = selected.map((i) => i.InstanceId ?? '');
  const close = () => setDialog(undefined);
  const done = () => {
    close();
    void store.refresh(ids);
    props.onChanged?.();
  };

  const runState = async (action: StateAction) => {
    const spec = STATE_ACTIONS[action];
    try {
      let changes: InstanceStateChange[] = [];
      if (action === 'start') changes = await api.start(ids);
      else if (action === 'stop') changes = await api.stop(ids);
      else if (action === 'force-stop') changes = await api.stop(ids, { force: true });
      else if (action === 'hibernate') changes = await api.stop(ids, { hibernate: true });
      else if (action === 'terminate') changes = await api.terminate(ids);
      else await api.reboot(ids);
      store.applyStateChanges(changes);
      notify.success(changed(spec.doing, ids, changes));
    } catch (err) {
      notify.failure(`Could not ${spec.verb} ${ids.length === 1 ? ids[0] : `${count(ids.length)} instances`}`, asApiError(err));
    } finally {
      props.onChanged?.();
    }
  };

  const item = (action: InstanceAction, label: string, onSelect: () => void): MenuItem => ({
    label,
    onSelect,
    disabledReason: unavailableReason(action, selected),
  });
  const groups: MenuGroup[] = [
    {
      items: [
        item('connect', 'Connect', () => setDialog('connect')),
        item('details', 'View details', () => navigate({ page: 'instance', id: ids[0] ?? '' })),
      ],
    },
    {
      label: 'Instance state',
      items: (['start', 'stop', 'force-stop', 'hibernate', 'reboot', 'terminate'] as const).map((action) =>
        item(action, STATE_ACTIONS[action].label, () => (action === 'start' ? void runState('start') : setDialog(action))),
      ),
    },
    {
      label: 'Instance settings',
      items: [
        item('cpu-options', 'Change CPU options', () => setDialog('cpu-options')),
        item('instance-type', 'Change instance type', () => setDialog('instance-type')),
        item('user-data', 'Edit user data', () => setDialog('user-data')),
        item('tags', 'Manage tags', () => setDialog('tags')),
        item('termination-protection', 'Change termination protection', () => setDialog('termination-protection')),
      ],
    },
  ];

  const one = selected[0];
  return (
    <>
      <MenuButton label="Actions" groups={groups} note={selected.length === 0 ? NOTHING_SELECTED : undefined} />
      {(dialog === 'stop' || dialog === 'force-stop' || dialog === 'hibernate' || dialog === 'reboot' || dialog === 'terminate') && (
        <ConfirmStateChange
          action={dialog}
          instances={selected}
          onClose={close}
          onConfirm={() => {
            close();
            void runState(dialog);
          }}
        />
      )}
      {dialog === 'connect' && one && <ConnectDialog instance={one} onClose={close} />}
      {dialog === 'cpu-options' && one && <ChangeCpuOptions instance={one} onClose={close} onChanged={done} />}
      {dialog === 'instance-type' && one && <ChangeInstanceType instance={one} onClose={close} onChanged={done} />}
      {dialog === 'user-data' && one && <EditUserData instance={one} onClose={close} onChanged={done} />}
      {dialog === 'tags' && one && <ManageTags instance={one} onClose={close} onChanged={done} />}
      {dialog === 'termination-protection' && one && <TerminationProtection instance={one} onClose={close} onChanged={done} />}
    </>
  );
}
