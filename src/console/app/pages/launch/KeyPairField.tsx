/**
 * Key pair (login): choose one of the account's key pairs, or create one here — the private key is
 * downloaded at once, as EC2 hands it out only in the CreateKeyPair answer.
 */
import type { KeyFormat, KeyType } from '../../api.js';
import { useState } from 'preact/hooks';
import { FormDialog } from '../../components/FormDialog.js';
import { useApi } from '../../context.js';
import { download } from '../../download.js';
import { useResource, useSubmit } from '../../hooks.js';

export function KeyPairField(props: { value: string; onChange: (name: string) => void }) {
  const api = useApi();
  const pairs = useResource(() => api.keyPairs(), [api]);
  const [creating, setCreating] = useState(false);
  const [downloaded, setDownloaded] = useState<string>();
  const names = (pairs.data ?? []).map((k) => k.KeyName ?? '').filter((n) => n !== '');

  return (
    <div class="field">
      <label for="key-pair">Key pair name</label>
      <div class="inline-controls">
        <select id="key-pair" value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
          <option value="">Proceed without a key pair</option>
          {names.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
          {props.value !== '' && !names.includes(props.value) && <option value={props.value}>{props.value}</option>}
        </select>
        <button type="button" class="button" onClick={() => setCreating(true)}>
          Create new key pair
        </button>
      </div>
      {pairs.error && (
        <p class="field-note">
          Key pairs could not be listed: <code>{pairs.error.code}</code> {pairs.error.message}
        </p>
      )}
      {downloaded && (
        <p class="field-success" role="status">
          Private key saved as <code>{downloaded}</code>. Keep it safe: it cannot be downloaded again.
        </p>
      )}
      {creating && (
        <CreateKeyPairDialog
          onClose={() => setCreating(false)}
          onCreated={(name, file) => {
            setCreating(false);
            setDownloaded(file);
            props.onChange(name);
            pairs.reload();
          }}
        />
      )}
    </div>
  );
}

function CreateKeyPairDialog(props: { onClose: () => void; onCreated: (name: string, file: string) => void }) {
  const api = useApi();
  const [name, setName] = useState('');
  const [type, setType] = useState<KeyType>('rsa');
  const [format, setFormat] = useState<KeyFormat>('pem');
  const creation = useSubmit();

  const create = () =>
    creation.submit(async () => {
      const key = await api.createKeyPair(name.trim(), type, format);
      const file = `${key.name}.${key.format}`;
      download(file, key.material, format === 'pem' ? 'application/x-pem-file' : 'application/octet-stream');
      props.onCreated(key.name, file);
    });

  return (
    <FormDialog
      title="Create key pair"
      onClose={props.onClose}
      onSubmit={create}
      ready={name.trim() !== ''}
      state={creation}
      errorTitle="CreateKeyPair failed"
      submitLabel="Create key pair"
      busyLabel="Creating…"
    >
      <div class="field">
        <label for="new-key-name">Key pair name</label>
        <input id="new-key-name" required autofocus maxLength={255} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <p class="hint">Up to 255 ASCII characters. The private key is downloaded when the key pair is created.</p>
      </div>
      <fieldset class="field">
        <legend>Key pair type</legend>
        <div class="choice-row">
          {(['rsa', 'ed25519'] as const).map((t) => (
            <label class="radio" key={t}>
              <input type="radio" name="key-type" value={t} checked={type === t} onChange={() => setType(t)} />
              {t === 'rsa' ? 'RSA' : 'ED25519'}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset class="field">
        <legend>Private key file format</legend>
        <div class="choice-row">
          <label class="radio">
            <input type="radio" name="key-format" value="pem" checked={format === 'pem'} onChange={() => setFormat('pem')} />
            .pem <span class="muted small">(OpenSSH)</span>
          </label>
          <label class="radio">
            <input type="radio" name="key-format" value="ppk" checked={format === 'ppk'} onChange={() => setFormat('ppk')} />
            .ppk <span class="muted small">(PuTTY)</span>
          </label>
        </div>
      </fieldset>
    </FormDialog>
  );
}
