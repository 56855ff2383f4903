/**
 * The metadata EC2 serves, as a tree built from an ImdsInstanceView: `/` lists the versions, each
 * version has `meta-data/`, `dynamic/` and (with user data) `user-data`. A directory answers with its
 * listing (subdirectories with a trailing `/`, except the two top levels, which EC2 lists bare); a
 * leaf with its value. Both answer with or without a trailing slash, as EC2's do.
 *
 * Pure: no I/O, so the HTTP side (./service.ts) only authenticates and writes what this resolves.
 */
import type { ImdsInstanceView } from './view.js';

/**
 * The versions EC2 lists at `/`. Each serves what `latest` serves: nestbox does not hide the
 * categories a version predates (cloud-init asks for `2021-03-23`, `2018-09-24` or `2016-09-02`).
 */
export const METADATA_VERSIONS: readonly string[] = [
  '1.0',
  '2007-01-19',
  '2007-03-01',
  '2007-08-29',
  '2007-10-10',
  '2007-12-15',
  '2008-02-01',
  '2008-09-01',
  '2009-04-04',
  '2011-01-01',
  '2011-05-01',
  '2012-01-12',
  '2014-02-25',
  '2014-11-05',
  '2015-10-20',
  '2016-04-19',
  '2016-06-30',
  '2016-09-02',
  '2018-03-28',
  '2018-08-17',
  '2018-09-24',
  '2019-10-01',
  '2020-10-27',
  '2021-01-03',
  '2021-03-23',
  '2021-07-15',
  '2022-09-24',
  '2024-04-11',
  'latest',
];
const VERSIONS = new Set(METADATA_VERSIONS);

export interface Leaf {
  readonly kind: 'leaf';
  readonly body: string | Uint8Array;
  /** default text/plain */
  readonly contentType?: string;
}

export interface Dir {
  readonly kind: 'dir';
  /** in listing order */
  readonly entries: ReadonlyMap<string, Node>;
  /** what the listing shows instead of the entries' names (public-keys/: `0=name`; the top levels: no slashes) */
  readonly listing?: readonly string[];
}

export type Node = Leaf | Dir;

const leaf = (body: string | Uint8Array, contentType?: string): Leaf => (contentType ? { kind: 'leaf', body, contentType } : { kind: 'leaf', body });

/** A directory of the entries that are defined, in the order given. */
function dir(entries: readonly (readonly [string, Node | string | undefined])[], listing?: readonly string[]): Dir {
  const map = new Map<string, Node>();
  for (const [name, node] of entries) {
    if (node === undefined) continue;
    map.set(name, typeof node === 'string' ? leaf(node) : node);
  }
  return listing ? { kind: 'dir', entries: map, listing } : { kind: 'dir', entries: map };
}

/** The body of a directory: its entries, one a line, subdirectories with `/`, no final newline. */
export function listingOf(d: Dir): string {
  return (d.listing ?? [...d.entries].map(([name, node]) => (node.kind === 'dir' ? `${name}/` : name))).join('\n');
}

/** EC2's identity-document timestamps have whole seconds: `2026-02-16T10:00:00Z`. */
export const ec2Time = (iso: string): string => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
};

/** JSON as EC2's metadata service writes it: two-space indent, `"key" : value`, no final newline. */
export function ec2Json(doc: Readonly<Record<string, string | null | readonly string[]>>): string {
  const value = (v: string | null | readonly string[]) =>
    v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v) : `[ ${v.map((s) => JSON.stringify(s)).join(', ')} ]`;
  const lines = Object.entries(doc).map(([k, v]) => `  ${JSON.stringify(k)} : ${value(v)}`);
  return `{\n${lines.join(',\n')}\n}`;
}

/** dynamic/instance-identity/document, with EC2's members in EC2's order. */
export function identityDocument(v: ImdsInstanceView): string {
  return ec2Json({
    accountId: v.account,
    architecture: v.architecture,
    availabilityZone: v.availabilityZone,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: v.imageId,
    instanceId: v.instanceId,
    instanceType: v.instanceType,
    kernelId: null,
    pendingTime: ec2Time(v.pendingTime),
    privateIp: v.privateIp,
    ramdiskId: null,
    region: v.region,
    version: '2017-09-30',
  });
}

/** The partition and its domain, from the Region's name. */
function partitionOf(region: string): { partition: string; domain: string } {
  if (region.startsWith('cn-')) return { partition: 'aws-cn', domain: 'amazonaws.com.cn' };
  if (region.startsWith('us-gov-')) return { partition: 'aws-us-gov', domain: 'amazonaws.com' };
  return { partition: 'aws', domain: 'amazonaws.com' };
}

/**
 * Tag keys EC2 can serve under tags/instance/: letters, digits and `+ - = . , _ : @`, not `.`, `..`
 * or `_index` (EC2 refuses to turn the option on while a tag breaks this; here such a tag is skipped).
 */
const SERVABLE_TAG_KEY = /^[A-Za-z0-9+\-=.,_:@]+$/;
const servableTagKey = (k: string) => SERVABLE_TAG_KEY.test(k) && k !== '.' && k !== '..' && k !== '_index';

function metaData(v: ImdsInstanceView): Dir {
  const { partition, domain } = partitionOf(v.region);
  const hasPublic = v.publicIp !== undefined && v.publicIp !== '';
  const publicHostname = hasPublic ? (v.publicDnsName ?? '') : undefined;
  const groups = v.securityGroups;

  const mac = dir([
    ['device-number', '0'],
    ['interface-id', v.eniId],
    ['ipv4-associations', hasPublic ? dir([[v.publicIp!, v.privateIp]]) : undefined],
    ['local-hostname', v.privateDnsName],
    ['local-ipv4s', [v.privateIp, ...(v.secondaryIps ?? [])].join('\n')],
    ['mac', v.mac],
    ['network-card-index', '0'],
    ['owner-id', v.account],
    ['public-hostname', publicHostname],
    ['public-ipv4s', hasPublic ? v.publicIp : undefined],
    ['security-group-ids', groups.map((g) => g.id).join('\n')],
    ['security-groups', groups.map((g) => g.name).join('\n')],
    ['subnet-id', v.subnetId],
    ['subnet-ipv4-cidr-block', v.subnetCidr],
    ['vpc-id', v.vpcId],
    ['vpc-ipv4-cidr-block', v.vpcCidrs[0] ?? ''],
    ['vpc-ipv4-cidr-blocks', v.vpcCidrs.join('\n')],
  ]);

  const keys = v.publicKeys;
  const publicKeys =
    keys.length === 0
      ? undefined
      : dir(
          keys.map((k, i) => [String(i), dir([['openssh-key', k.openssh]])] as const),
          keys.map((k, i) => `${i}=${k.name}`),
        );

  const tags =
    v.metadataOptions.instanceMetadataTags === 'enabled'
      ? dir([['instance', dir([...v.tags].filter(([k]) => servableTagKey(k)))]])
      : undefined;

  const iam = v.iamInstanceProfile
    ? dir([
        [
          'info',
          ec2Json({
            Code: 'Success',
            LastUpdated: ec2Time(v.pendingTime),
            InstanceProfileArn: v.iamInstanceProfile.arn,
            InstanceProfileId: v.iamInstanceProfile.id,
          }),
        ],
      ])
    : undefined;

  return dir([
    ['ami-id', v.imageId],
    ['ami-launch-index', String(v.amiLaunchIndex)],
    ['ami-manifest-path', '(unknown)'],
    ['block-device-mapping', dir([['ami', v.rootDeviceName], ['root', v.rootDeviceName]])],
    ['events', dir([['maintenance', dir([['history', '[]'], ['scheduled', '[]']])]])],
    ['hostname', v.privateDnsName],
    ['iam', iam],
    ['instance-action', 'none'],
    ['instance-id', v.instanceId],
    ['instance-life-cycle', v.instanceLifeCycle],
    ['instance-type', v.instanceType],
    ['local-hostname', v.privateDnsName],
    ['local-ipv4', v.privateIp],
    ['mac', v.mac],
    ['network', dir([['interfaces', dir([['macs', dir([[v.mac, mac]])]])]])],
    [
      'placement',
      dir([
        ['availability-zone', v.availabilityZone],
        ['availability-zone-id', v.availabilityZoneId],
        ['host-id', v.hostId],
        ['region', v.region],
      ]),
    ],
    ['profile', 'default-hvm'],
    ['public-hostname', publicHostname],
    ['public-ipv4', hasPublic ? v.publicIp : undefined],
    ['public-keys', publicKeys],
    ['reservation-id', v.reservationId],
    ['security-groups', groups.map((g) => g.name).join('\n')],
    ['services', dir([['domain', domain], ['partition', partition]])],
    ['tags', tags],
  ]);
}

function dynamic(v: ImdsInstanceView): Dir {
  return dir([
    ['fws', dir([['instance-monitoring', v.detailedMonitoring ? 'enabled' : 'disabled']])],
    // EC2 also signs the document (pkcs7, signature, rsa2048) with AWS's keys, which nestbox does not have.
    ['instance-identity', dir([['document', identityDocument(v)]])],
  ]);
}

/** One version's tree: what `/latest/` lists. */
export function versionTree(v: ImdsInstanceView): Dir {
  const userData = v.userData && v.userData.length > 0 ? leaf(v.userData, 'application/octet-stream') : undefined;
  const entries: [string, Node | undefined][] = [
    ['dynamic', dynamic(v)],
    ['meta-data', metaData(v)],
    ['user-data', userData],
  ];
  return dir(entries, entries.filter(([, n]) => n !== undefined).map(([name]) => name));
}

/**
 * What a path names: a node, the version listing (`/`), or nothing. `path` is the URL's path,
 * percent-decoding applied per segment (tag keys may need it).
 */
export function resolve(v: ImdsInstanceView, path: string): Node | undefined {
  if (!path.startsWith('/')) return undefined;
  if (path === '/') return dir([], METADATA_VERSIONS);
  const segments = path.slice(1).split('/');
  // One trailing slash is allowed (directory or leaf alike); an empty segment anywhere else is not.
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  const [version, ...rest] = segments;
  if (version === undefined || !VERSIONS.has(version)) return undefined;
  let node: Node = versionTree(v);
  for (const raw of rest) {
    if (node.kind !== 'dir' || raw === '') return undefined;
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    const next: Node | undefined = node.entries.get(name);
    if (!next) return undefined;
    node = next;
  }
  return node;
}
