import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApi } from './api.js';
import { NotificationsProvider } from './components/Notifications.js';
import { Shell } from './components/Shell.js';
import { ApiContext } from './context.js';
import { InstanceDetails } from './pages/InstanceDetails.js';
import { InstanceTypes } from './pages/InstanceTypes.js';
import { Instances } from './pages/Instances.js';
import { LaunchWizard } from './pages/LaunchWizard.js';
import { SignIn } from './pages/SignIn.js';
import { type Route, href, useRoute } from './router.js';
import { type Session, clearSession, loadSession, saveSession } from './session.js';

function Page(props: { route: Route }) {
  const { route } = props;
  switch (route.page) {
    case 'instances':
      return <Instances />;
    case 'instance':
      return <InstanceDetails id={route.id} />;
    case 'launch':
      return <LaunchWizard initialType={route.instanceType} />;
    case 'instance-types':
      return <InstanceTypes />;
  }
}

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const route = useRoute();
  const api = useMemo(() => session && createApi(session, session.region), [session]);
  useEffect(() => () => api?.destroy(), [api]);

  const update = (next: Session | undefined) => {
    if (next) saveSession(next);
    else clearSession();
    setSession(next);
  };

  if (!session || !api) return <SignIn onSignedIn={update} />;
  return (
    <ApiContext.Provider value={api}>
      <Shell
        api={api}
        route={route}
        accessKeyId={session.accessKeyId}
        onRegion={(region) => update({ ...session, region })}
        onSignOut={() => update(undefined)}
      >
        <NotificationsProvider>
          {/* Keyed by region and route: a change of either starts the page afresh. */}
          <Page key={`${api.region} ${href(route)}`} route={route} />
        </NotificationsProvider>
      </Shell>
    </ApiContext.Provider>
  );
}
