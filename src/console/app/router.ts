/**
 * Hash routes, so the server serves one page at /console:
 *   #/instances  #/instances/<id>  #/launch[?type=<type>]  #/instance-types
 *   #/security-groups  #/security-groups/<id>  #/security-groups/<id>/edit/inbound|outbound  #/vpcs
 *   #/volumes  #/volumes/<id> (the list, filtered to that volume)
 */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { readonly page: 'instances' }
  | { readonly page: 'instance'; readonly id: string }
  | { readonly page: 'launch'; readonly instanceType?: string }
  | { readonly page: 'instance-types' }
  | { readonly page: 'security-groups' }
  | { readonly page: 'security-group'; readonly id: string }
  | { readonly page: 'edit-rules'; readonly id: string; readonly direction: RuleDirection }
  | { readonly page: 'vpcs' }
  | { readonly page: 'volumes'; readonly id?: string };

export type RuleDirection = 'inbound' | 'outbound';

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#/, '').split('?', 2);
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts[0] === 'instances' && parts[1]) return { page: 'instance', id: parts[1] };
  if (parts[0] === 'launch') {
    const type = new URLSearchParams(query).get('type');
    return type ? { page: 'launch', instanceType: type } : { page: 'launch' };
  }
  if (parts[0] === 'instance-types') return { page: 'instance-types' };
  if (parts[0] === 'security-groups') {
    const [, id, edit, direction] = parts;
    if (id && edit === 'edit' && (direction === 'inbound' || direction === 'outbound')) return { page: 'edit-rules', id, direction };
    return id ? { page: 'security-group', id } : { page: 'security-groups' };
  }
  if (parts[0] === 'vpcs') return { page: 'vpcs' };
  if (parts[0] === 'volumes') return parts[1] ? { page: 'volumes', id: parts[1] } : { page: 'volumes' };
  return { page: 'instances' };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'instances':
      return '#/instances';
    case 'instance':
      return `#/instances/${encodeURIComponent(route.id)}`;
    case 'launch':
      return route.instanceType ? `#/launch?type=${encodeURIComponent(route.instanceType)}` : '#/launch';
    case 'instance-types':
      return '#/instance-types';
    case 'security-groups':
      return '#/security-groups';
    case 'security-group':
      return `#/security-groups/${encodeURIComponent(route.id)}`;
    case 'edit-rules':
      return `#/security-groups/${encodeURIComponent(route.id)}/edit/${route.direction}`;
    case 'vpcs':
      return '#/vpcs';
    case 'volumes':
      return route.id ? `#/volumes/${encodeURIComponent(route.id)}` : '#/volumes';
  }
}

/** One page of one Region: what notices belong to, and what a page is keyed by (a change starts it afresh). */
export const pageKey = (region: string, route: Route): string => `${region} ${href(route)}`;

export function navigate(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
