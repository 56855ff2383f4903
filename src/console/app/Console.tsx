/** The signed-in console: the API client and the instance list of the chosen Region, the shell, and the page of the route. */
import { useMemo, useState } from 'preact/hooks';
import { createApi } from './api.js';
import { NotificationsProvider } from './components/Notifications.js';
import { Shell } from './components/Shell.js';
import { type ConsoleServices, ServicesContext } from './context.js';
import { InstanceStore } from './list/store.js';
import { InstanceDetails } from './pages/InstanceDetails.js';
import { InstanceTypes } from './pages/InstanceTypes.js';
import { Instances } from './pages/Instances.js';
import { EditRules } from './pages/EditRules.js';
import { LaunchWizard } from './pages/LaunchWizard.js';
import { SecurityGroupDetails } from './pages/SecurityGroupDetails.js';
import { SecurityGroups } from './pages/SecurityGroups.js';
import { Volumes } from './pages/Volumes.js';
import { Vpcs } from './pages/Vpcs.js';
import { type Route, pageKey, useRoute } from './router.js';
import type { Session } from './session.js';

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
    case 'security-groups':
      return <SecurityGroups />;
    case 'security-group':
      return <SecurityGroupDetails id={route.id} />;
    case 'edit-rules':
      return <EditRules id={route.id} direction={route.direction} />;
    case 'vpcs':
      return <Vpcs />;
    case 'volumes':
      return <Volumes id={route.id} />;
  }
}

export function Console(props: { session: Session; onSession: (session: Session | undefined) => void }) {
  const { session } = props;
  const route = useRoute();
  const services = useMemo<ConsoleServices>(() => {
    const api = createApi(session, session.region, location.origin);
    return { api, instances: new InstanceStore(api) };
  }, [session]);
  const key = pageKey(services.api.region, route);
  // Following the navigation to the page on screen starts it again, as in EC2's console.
  const [visits, setVisits] = useState(0);
  return (
    <ServicesContext.Provider value={services}>
      <Shell
        api={services.api}
        route={route}
        accessKeyId={session.accessKeyId}
        onRegion={(region) => props.onSession({ ...session, region })}
        onSignOut={() => props.onSession(undefined)}
        onRevisit={() => setVisits((v) => v + 1)}
      >
        <NotificationsProvider page={key}>
          {/* Keyed by Region and route (and revisits): a change of either starts the page afresh. */}
          <Page key={`${key} ${visits}`} route={route} />
        </NotificationsProvider>
      </Shell>
    </ServicesContext.Provider>
  );
}
