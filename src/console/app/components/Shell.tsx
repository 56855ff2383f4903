/**
 * The frame around every page: top bar (brand, Region by its name, sign-out), the side navigation,
 * and the main area, which scrolls on its own (the top bar and the navigation stay).
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { type Api, FALLBACK_REGIONS } from '../api.js';
import { regionName } from '../format.js';
import { type Route, href } from '../router.js';

interface NavItem {
  readonly label: string;
  readonly route: Route;
  readonly pages: readonly Route['page'][];
}

/** The navigation's sections, as EC2's console groups them. */
const NAV: readonly { readonly title: string; readonly items: readonly NavItem[] }[] = [
  {
    title: 'Instances',
    items: [
      { label: 'Instances', route: { page: 'instances' }, pages: ['instances', 'instance'] },
      { label: 'Launch instances', route: { page: 'launch' }, pages: ['launch'] },
      { label: 'Instance types', route: { page: 'instance-types' }, pages: ['instance-types'] },
    ],
  },
  {
    title: 'Elastic Block Store',
    items: [{ label: 'Volumes', route: { page: 'volumes' }, pages: ['volumes'] }],
  },
  {
    title: 'Network & Security',
    items: [
      { label: 'Security groups', route: { page: 'security-groups' }, pages: ['security-groups', 'security-group', 'edit-rules'] },
      { label: 'VPCs', route: { page: 'vpcs' }, pages: ['vpcs'] },
    ],
  },
];

export function Shell(props: {
  api: Api;
  route: Route;
  accessKeyId: string;
  onRegion: (region: string) => void;
  onSignOut: () => void;
  /** the navigation's link to the page already shown: start it afresh (the list reads the API again) */
  onRevisit: () => void;
  children: ComponentChildren;
}) {
  const [regions, setRegions] = useState<readonly string[]>([props.api.region]);
  useEffect(() => {
    let live = true;
    props.api.regions().then(
      (r) => live && setRegions(r.includes(props.api.region) ? r : [props.api.region, ...r]),
      () => live && setRegions([...new Set([props.api.region, ...FALLBACK_REGIONS])]),
    );
    return () => {
      live = false;
    };
  }, [props.api]);

  // Every page opens at its top.
  const main = useRef<HTMLElement>(null);
  const routeKey = href(props.route);
  useEffect(() => {
    main.current?.scrollTo({ top: 0 });
    window.scrollTo({ top: 0 });
  }, [routeKey]);

  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={href({ page: 'instances' })}>
          <img src="/console/favicon.svg" alt="" width={22} height={22} />
          <span>
            nestbox <span class="brand-sub">EC2 console</span>
          </span>
        </a>
        <div class="topbar-right">
          <label class="region-picker">
            <span>Region</span>
            <select value={props.api.region} onChange={(e) => props.onRegion(e.currentTarget.value)}>
              {regions.map((r) => (
                <option key={r} value={r}>
                  {regionName(r)} · {r}
                </option>
              ))}
            </select>
          </label>
          <span class="whoami" title="Access key">
            {props.accessKeyId}
          </span>
          <button type="button" class="button button-ghost" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <div class="layout">
        <nav class="sidenav" aria-label="Console">
          <p class="sidenav-title">EC2</p>
          {NAV.map((section) => (
            <div class="sidenav-section" key={section.title}>
              <p class="sidenav-section-title" id={`nav-${section.title.replace(/\W+/g, '-').toLowerCase()}`}>
                {section.title}
              </p>
              <ul aria-labelledby={`nav-${section.title.replace(/\W+/g, '-').toLowerCase()}`}>
                {section.items.map((n) => (
                  <li key={n.label}>
                    <a
                      href={href(n.route)}
                      aria-current={n.pages.includes(props.route.page) ? 'page' : undefined}
                      onClick={() => {
                        if (href(n.route) === routeKey) props.onRevisit();
                      }}
                    >
                      {n.label}
                    </a>
                  </li>
                ))}
              </ul>
            </div>
          ))}
        </nav>
        <main id="main" class="content" tabIndex={-1} ref={main}>
          {props.children}
        </main>
      </div>
    </div>
  );
}
