/**
 * The page's entry: the signed-in session, and either the sign-in page (all the first load needs) or
 * the console, which is loaded on demand (./Console.tsx and everything it uses, the API client included).
 */
import { useEffect, useState } from 'preact/hooks';
import { SignIn } from './pages/SignIn.js';
import { type Session, clearSession, loadSession, saveSession } from './session.js';

type ConsoleModule = typeof import('./Console.js');

let consoleModule: Promise<ConsoleModule> | undefined;
const loadConsole = (): Promise<ConsoleModule> => (consoleModule ??= import('./Console.js'));

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const [loaded, setLoaded] = useState<ConsoleModule>();
  const [failed, setFailed] = useState<string>();

  useEffect(() => {
    if (!session || loaded) return;
    let live = true;
    loadConsole().then(
      (m) => live && setLoaded(m),
      (err: unknown) => live && setFailed(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      live = false;
    };
  }, [session, loaded]);

  const update = (next: Session | undefined) => {
    if (next) saveSession(next);
    else clearSession();
    setSession(next);
  };

  if (!session) return <SignIn onSignedIn={update} preload={() => void loadConsole().catch(() => undefined)} />;
  if (failed) {
    return (
      <main class="signin-page">
        <p class="card signin" role="alert">
          The console could not be loaded ({failed}). Reload the page to try again.
        </p>
      </main>
    );
  }
  if (!loaded) {
    return (
      <main class="signin-page">
        <p class="muted" role="status">
          Loading the console…
        </p>
      </main>
    );
  }
  return <loaded.Console session={session} onSession={update} />;
}
