/**
 * Connect → SSH client, as EC2's console shows it: the steps and the exact `ssh` command for a
 * running real VM that has a key pair and a public IPv4 address; otherwise why SSH cannot work, one
 * message per reason. Everything comes from DescribeInstances: KeyName, PublicIpAddress, the state,
 * and two tags the server sets — `nestbox:vm` (a real VM booted for the instance; simulated instances
 * have none and no connectivity) and `nestbox:ssh-port` (the host port SSH is forwarded from, when
 * nestbox may not bind port 22).
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { Alert } from '../components/Alert.js';
import { CopyCommand } from '../components/CopyCommand.js';
import { Modal } from '../components/Modal.js';
import { nameOf, tagValue } from '../format.js';

/** The Debian image's login user. */
export const SSH_USER = 'admin';
export const VM_TAG = 'nestbox:vm';
export const SSH_PORT_TAG = 'nestbox:ssh-port';

export interface SshAccess {
  readonly keyFile: string;
  readonly host: string;
  /** set when SSH is forwarded from a port other than 22 */
  readonly port: string | undefined;
  readonly chmod: string;
  readonly command: string;
}

export type Blocker = 'simulated' | 'state' | 'key-pair' | 'public-ip';

export type SshConnect =
  | { readonly ok: true; readonly access: SshAccess }
  | { readonly ok: false; readonly blockers: readonly { readonly reason: Blocker; readonly message: string }[] };

function stateMessage(state: string): string {
  switch (state) {
    case 'pending':
      return 'The instance is pending: connect once it is running.';
    case 'stopping':
    case 'stopped':
      return `The instance is ${state}: start it, then connect once it is running.`;
    case 'shutting-down':
    case 'terminated':
      return `The instance is ${state}: it can no longer be connected to.`;
    default:
      return `The instance is ${state}: SSH works only while it is running.`;
  }
}

/** The SSH command for `instance`, or every reason it cannot work. */
export function sshConnect(instance: Instance): SshConnect {
  const state = instance.State?.Name ?? 'unknown';
  const key = instance.KeyName ?? '';
  const host = instance.PublicIpAddress ?? '';
  const blockers: { reason: Blocker; message: string }[] = [];
  if (tagValue(instance.Tags, VM_TAG) === undefined) {
    blockers.push({
      reason: 'simulated',
      message:
        'This instance is simulated: no virtual machine runs behind it, so nothing answers SSH. ' +
        'Instances are real VMs (tagged nestbox:vm) when nestbox runs them with the QEMU driver.',
    });
  }
  if (state !== 'running') blockers.push({ reason: 'state', message: stateMessage(state) });
  if (key === '') {
    blockers.push({
      reason: 'key-pair',
      message: `The instance was launched without a key pair, so no SSH key lets you log in as ${SSH_USER}. Launch an instance with a key pair.`,
    });
  }
  // A stopped instance has given its public address back; the state message covers that.
  if (host === '' && (state === 'running' || state === 'pending')) {
    blockers.push({ reason: 'public-ip', message: 'The instance has no public IPv4 address, so it cannot be reached from outside its VPC.' });
  }
  if (blockers.length > 0) return { ok: false, blockers };

  const tagged = tagValue(instance.Tags, SSH_PORT_TAG)?.trim();
  const port = tagged && tagged !== '22' ? tagged : undefined;
  const keyFile = `${key}.pem`;
  return {
    ok: true,
    access: {
      keyFile,
      host,
      port,
      chmod: `chmod 400 "${keyFile}"`,
      command: `ssh -i "${keyFile}"${port ? ` -p ${port}` : ''} ${SSH_USER}@${host}`,
    },
  };
}

export function ConnectDialog(props: { instance: Instance; onClose: () => void }) {
  const { instance } = props;
  const id = instance.InstanceId ?? '';
  const name = nameOf(instance);
  const connect = sshConnect(instance);

  return (
    <Modal
      title="Connect to instance"
      wide
      onClose={props.onClose}
      footer={
        <button type="button" class="button" autofocus={!connect.ok} onClick={props.onClose}>
          Done
        </button>
      }
    >
      <h3 class="connect-method">SSH client</h3>
      <p>
        Connect to <code>{id}</code>
        {name && <span> ({name})</span>} with an SSH client, as user <code>{SSH_USER}</code> (the Debian image’s user).
      </p>
      {connect.ok ? (
        <SshSteps access={connect.access} />
      ) : (
        <Alert kind="warning" title="SSH cannot connect to this instance">
          <ul class="connect-reasons">
            {connect.blockers.map((b) => (
              <li key={b.reason} data-reason={b.reason}>
                {b.message}
              </li>
            ))}
          </ul>
        </Alert>
      )}
    </Modal>
  );
}

function SshSteps(props: { access: SshAccess }) {
  const { access } = props;
  return (
    <ol class="steps">
      <li>Open an SSH client.</li>
      <li>
        Locate your private key file. The key used to launch this instance is <code>{access.keyFile}</code>.
      </li>
      <li>
        Run this command, if necessary, to ensure your key is not publicly viewable:
        <CopyCommand label="chmod command" command={access.chmod} testId="connect-chmod" />
      </li>
      <li>
        Connect to your instance using its public IP <code>{access.host}</code>
        {access.port && (
          <>
            {' '}
            on port <code>{access.port}</code>
          </>
        )}
        :
        <CopyCommand label="SSH command" command={access.command} testId="connect-command" autofocus />
        {access.port && (
          <p class="hint">
            nestbox forwards SSH to this instance from port {access.port} (tag <code>{SSH_PORT_TAG}</code>), because it may
            not bind port 22.
          </p>
        )}
      </li>
    </ol>
  );
}
