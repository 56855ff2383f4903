/** Resource IDs: one prefix table, one generator, one syntax check. */
import { randomBytes, randomUUID } from 'node:crypto';

export const ID_PREFIX = {
  instance: 'i',
  reservation: 'r',
  image: 'ami',
  volume: 'vol',
  snapshot: 'snap',
  networkInterface: 'eni',
  subnet: 'subnet',
  vpc: 'vpc',
  vpcCidrAssociation: 'vpc-cidr-assoc',
  securityGroup: 'sg',
  securityGroupRule: 'sgr',
  internetGateway: 'igw',
  routeTable: 'rtb',
  routeTableAssociation: 'rtbassoc',
  networkAcl: 'acl',
  launchTemplate: 'lt',
  keyPair: 'key',
  host: 'h',
  fleet: 'fleet',
  elasticIp: 'eipalloc',
  eipAssociation: 'eipassoc',
  interfaceAttachment: 'eni-attach',
} as const;

export type ResourceKind = keyof typeof ID_PREFIX;

/** EC2 Fleet IDs are `fleet-` and a UUID (`fleet-1ad78390-172b-493d-a1ab-16af6f8a3662`), not hex digits. */
const UUID_KINDS: ReadonlySet<ResourceKind> = new Set(['fleet']);

/** `i-` followed by 17 lowercase hex digits, as EC2's long IDs (or a UUID for the kinds that use one). */
export function newId(kind: ResourceKind): string {
  const body = UUID_KINDS.has(kind) ? randomUUID() : randomBytes(9).toString('hex').slice(0, 17);
  return `${ID_PREFIX[kind]}-${body}`;
}

/** EC2 accepts the old 8-digit and the long 17-digit forms; UUID kinds take a lowercase UUID. */
const ID_SYNTAX = /^([a-z]+)-(.+)$/;
const HEX_BODY = /^(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const UUID_BODY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const bodyFits = (kind: ResourceKind, body: string): boolean => (UUID_KINDS.has(kind) ? UUID_BODY : HEX_BODY).test(body);

export function isWellFormedId(kind: ResourceKind, id: string): boolean {
  const m = ID_SYNTAX.exec(id);
  return m !== null && m[1] === ID_PREFIX[kind] && bodyFits(kind, m[2]!);
}

/** The resource kind an ID names, by its prefix (for tags), or undefined. */
export function kindOfId(id: string): ResourceKind | undefined {
  const m = ID_SYNTAX.exec(id);
  if (!m) return undefined;
  const kind = (Object.keys(ID_PREFIX) as ResourceKind[]).find((k) => ID_PREFIX[k] === m[1]);
  return kind !== undefined && bodyFits(kind, m[2]!) ? kind : undefined;
}
