/** Sign-in with an access key and secret, checked by a signed call before the console opens. */
import { useState } from 'preact/hooks';
import { type ApiError, createApi } from '../api.js';
import { ApiErrorAlert } from '../components/Alert.js';
import { asApiError } from '../hooks.js';
import { DEFAULT_REGION, type Session } from '../session.js';

export function SignIn(props: { onSignedIn: (session: Session) => void }) {
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secretAccessKey, setSecretAccessKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const session = { accessKeyId: accessKeyId.trim(), secretAccessKey, region: DEFAULT_REGION };
    const api = createApi(session, session.region);
    try {
      await api.verify();
      props.onSignedIn(session);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      api.destroy();
      setBusy(false);
    }
  };

  return (
    <div class="signin-page">
      <form class="card signin" onSubmit={submit}>
        <div class="signin-brand">
          <img src="/console/favicon.svg" alt="" width={36} height={36} />
          <div>
            <h1>nestbox</h1>
            <p class="muted">EC2 console · nested virtualization</p>
          </div>
        </div>
        <p class="muted">Sign in with an access key. Requests are signed in this browser (SigV4) and sent to this server's EC2 API.</p>
        <div class="field">
          <label for="access-key">Access key ID</label>
          <input
            id="access-key"
            autocomplete="username"
            required
            autofocus
            value={accessKeyId}
            onInput={(e) => setAccessKeyId(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for="secret-key">Secret access key</label>
          <input
            id="secret-key"
            type="password"
            autocomplete="current-password"
            required
            value={secretAccessKey}
            onInput={(e) => setSecretAccessKey(e.currentTarget.value)}
          />
        </div>
        <p class="hint">
          A fresh nestbox accepts access key <code>test</code> and secret <code>test</code> (see <code>npm start</code>'s output).
        </p>
        {error && <ApiErrorAlert title="Sign-in failed" error={error} />}
        <button type="submit" class="button button-primary button-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
