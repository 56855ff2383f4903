/**
 * Sign-in with an access key and secret, checked by a signed call before the console opens. This page
 * is all the first load brings: the API client (with its SigV4 signer) and the console are fetched when
 * the form is sent.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiErrorAlert } from '../components/Alert.js';
import type { ApiError } from '../ec2/query.js';
import { DEFAULT_REGION, type Session } from '../session.js';

/** The mark the end-to-end test reads: the sign-in page is drawn and its first field has focus. */
export const SIGN_IN_USABLE_MARK = 'nestbox:sign-in-usable';

export function SignIn(props: { onSignedIn: (session: Session) => void; preload: () => void }) {
  const [accessKeyId, setAccessKeyId] = useState('');
  const [secretAccessKey, setSecretAccessKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();

  useEffect(() => {
    document.title = 'Sign in · nestbox console';
    performance.mark(SIGN_IN_USABLE_MARK);
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    props.preload();
    const session = { accessKeyId: accessKeyId.trim(), secretAccessKey, region: DEFAULT_REGION };
    const { createApi, ApiError } = await import('../api.js');
    try {
      await createApi(session, session.region, location.origin).verify();
      props.onSignedIn(session);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError('Error', err instanceof Error ? err.message : String(err)));
      setBusy(false);
    }
  };

  return (
    <main class="signin-page">
      <form class="card signin" onSubmit={submit} aria-labelledby="signin-title">
        <div class="signin-brand">
          <img src="/console/favicon.svg" alt="" width={36} height={36} />
          <div>
            <h1 id="signin-title">nestbox</h1>
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
    </main>
  );
}
