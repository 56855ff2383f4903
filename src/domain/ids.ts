/** Resource IDs: one prefix table, one generator, one syntax check. */
import { randomBytes } from 'node:crypto';

export const ID_PREFIX = {
  instance: 'i',
  reservation: 'r',
  image: 'ami',
  volume: 'vol',
  networkInterface: 'eni',
  subnet: 'subnet',
  vpc: 'vpc',
  securityGroup: 'sg',
  launchTemplate: 'lt',
  keyPair: 'key',
  host: 'h',
} as const;

export type ResourceKind = keyof typeof ID_PREFIX;

/** `i-` followed by 17 lowercase hex digits, as EC2's long IDs. */
export function newId(kind: ResourceKind): string {
  return `${ID_PREFIX[kind]}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

/** EC2 accepts the old 8-digit and the long 17-digit forms. */
const ID_SYNTAX = /^([a-z]+)-([0-9a-f]{8}|[0-9a-f]{17})$/;

export function isWellFormedId(kind: ResourceKind, id: string): boolean {
  const m = ID_SYNTAX.exec(id);
  return m !== null && m[1] === ID_PREFIX[kind];
}

/** The resource kind an ID names, by its prefix (for tags), or undefined. */
export function kindOfId(id: string): ResourceKind | undefined {
  const m = ID_SYNTAX.exec(id);
  if (!m) return undefined;
  return (Object.keys(ID_PREFIX) as ResourceKind[]).find((k) => ID_PREFIX[k] === m[1]);
}
