/**
 * The console's one way to the server: the EC2 API over the Query protocol (./ec2/query.ts), each
 * request signed in the browser with the signed-in user's keys and sent to the origin that served the
 * page. Every rule is the server's; what the API refuses is an ApiError carrying EC2's code and
 * message verbatim.
 */
import type {
  AvailabilityZone,
  Image,
  InternetGateway,
  RouteTable,
  SecurityGroup,
  SecurityGroupRule,
  Subnet,
  Volume,
  VolumeAttachment,
  Vpc,
  Instance,
  InstanceStateChange,
  InstanceStatus,
  InstanceTypeInfo,
  KeyPairInfo,
  ModifyInstanceCpuOptionsResult,
} from '@aws-sdk/client-ec2';
import { ApiError, type Credentials, type Filter, type Params, createQueryClient, filterParams, listParams } from './ec2/query.js';
import {
  LIST_SKIPS,
  instancesOf,
  toImage,
  toInstanceStatus,
  toInstanceTypeInfo,
  toKeyPair,
  toStateChange,
} from './ec2/shapes.js';
import {
  toInternetGateway,
  toRouteTable,
  toSecurityGroup,
  toSecurityGroupRule,
  toSubnet,
  toVolume,
  toVolumeAttachment,
  toVpc,
} from './ec2/network.js';
import { type ParseOptions, type XmlElement, child, items, text } from './ec2/xml.js';
import type { RuleSpec } from './security-rules.js';
import type { TagInput } from './tags.js';

export { ApiError, type Credentials, type Filter } from './ec2/query.js';
export type { TagInput } from './tags.js';

/** Used when DescribeRegions is not available on this server. */
export const FALLBACK_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'eu-west-1', 'eu-west-2', 'eu-central-1',
  'eu-north-1', 'ap-northeast-1', 'ap-southeast-1', 'ap-southeast-2', 'ap-south-1', 'sa-east-1',
];

export type KeyType = 'rsa' | 'ed25519';
export type KeyFormat = 'pem' | 'ppk';

export interface CreatedKeyPair {
  readonly name: string;
  readonly material: string;
  readonly format: KeyFormat;
}

export interface CpuOptionsChange {
  readonly coreCount?: number;
  readonly threadsPerCore?: number;
  readonly nestedVirtualization?: 'enabled' | 'disabled';
}

/** What the launch wizard asks RunInstances for. */
export interface LaunchRequest {
  readonly imageId: string;
  readonly instanceType: string;
  readonly count: number;
  readonly keyName?: string | undefined;
  readonly tags: readonly TagInput[];
  readonly nestedVirtualization?: 'enabled' | 'disabled' | undefined;
  readonly hibernation: boolean;
  /** as typed: encoded to base64 here */
  readonly userData?: string | undefined;
}

/** What Create volume asks CreateVolume for. */
export interface VolumeRequest {
  readonly zone: string;
  readonly sizeGiB: number;
  readonly volumeType: string;
  /** provisioned IOPS (gp3, io1, io2) */
  readonly iops?: number | undefined;
  readonly tags: readonly TagInput[];
}

export interface InstancePage {
  readonly instances: Instance[];
  readonly nextToken: string | undefined;
}

export interface StatusPage {
  readonly statuses: InstanceStatus[];
  readonly nextToken: string | undefined;
}

export interface StopOptions {
  /** skip the guest's shutdown (Force) */
  readonly force?: boolean;
  readonly hibernate?: boolean;
}

export type Api = ReturnType<typeof createApi>;

/** Tags for a resource being created: `TagSpecification.1.…` of the given resource type (none when empty). */
export function tagSpecificationParams(resourceType: string, tags: readonly TagInput[]): Params {
  const kept = tags.filter((t) => t.key.trim() !== '');
  if (kept.length === 0) return {};
  return {
    'TagSpecification.1.ResourceType': resourceType,
    ...Object.fromEntries(
      kept.flatMap((t, i) => [
        [`TagSpecification.1.Tag.${i + 1}.Key`, t.key.trim()],
        [`TagSpecification.1.Tag.${i + 1}.Value`, t.value],
      ]),
    ),
  };
}

/** A rule's peer as IpPermissions name it (`IpPermissions.N.IpRanges.1.CidrIp`, …), description included. */
function permissionParams(prefix: string, spec: RuleSpec): Params {
  const ports = spec.fromPort !== undefined ? { [`${prefix}.FromPort`]: spec.fromPort, [`${prefix}.ToPort`]: spec.toPort } : {};
  const description = spec.description === '' ? undefined : spec.description;
  const peer =
    spec.peer.kind === 'cidr4'
      ? { [`${prefix}.IpRanges.1.CidrIp`]: spec.peer.value, [`${prefix}.IpRanges.1.Description`]: description }
      : spec.peer.kind === 'cidr6'
        ? { [`${prefix}.Ipv6Ranges.1.CidrIpv6`]: spec.peer.value, [`${prefix}.Ipv6Ranges.1.Description`]: description }
        : spec.peer.kind === 'group'
          ? { [`${prefix}.Groups.1.GroupId`]: spec.peer.value, [`${prefix}.Groups.1.Description`]: description }
          : { [`${prefix}.PrefixListIds.1.PrefixListId`]: spec.peer.value, [`${prefix}.PrefixListIds.1.Description`]: description };
  return { [`${prefix}.IpProtocol`]: spec.protocol, ...ports, ...peer };
}

/** A rule as ModifySecurityGroupRules' SecurityGroupRuleRequest names it (an empty description clears it). */
function ruleRequestParams(prefix: string, spec: RuleSpec): Params {
  const peerName = { cidr4: 'CidrIpv4', cidr6: 'CidrIpv6', group: 'ReferencedGroupId', 'prefix-list': 'PrefixListId' }[spec.peer.kind];
  return {
    [`${prefix}.IpProtocol`]: spec.protocol,
    ...(spec.fromPort !== undefined ? { [`${prefix}.FromPort`]: spec.fromPort, [`${prefix}.ToPort`]: spec.toPort } : {}),
    [`${prefix}.${peerName}`]: spec.peer.value,
    [`${prefix}.Description`]: spec.description,
  };
}

/** `endpoint`: the server's origin (the page's own, in the browser). */
export function createApi(credentials: Credentials, region: string, endpoint: string) {
  const client = createQueryClient(credentials, region, endpoint);
  const call = client.call;
  // The catalog, the images and the quota do not change while the server runs: fetched once per client
  // (a failed read is forgotten, so the next use tries again).
  let instanceTypes: Promise<readonly InstanceTypeInfo[]> | undefined;
  let images: Promise<readonly Image[]> | undefined;
  let maxInstances: Promise<number | undefined> | undefined;
  const forgetOnFailure = <T>(load: () => Promise<T>, forget: () => void): Promise<T> =>
    load().catch((err: unknown) => {
      forget();
      throw err;
    });

  const stateChanges = async (action: string, ids: readonly string[], extra: Params = {}) =>
    items(await call(action, { ...listParams('InstanceId', ids), ...extra }), 'instancesSet').map(toStateChange);
  /** What `read` finds in every page of a paged Describe call (MaxResults / NextToken), in the API's order. */
  const pages = async <T>(action: string, params: Params, pageSize: number, read: (root: XmlElement) => T[], options?: ParseOptions): Promise<T[]> => {
    const out: T[] = [];
    let nextToken: string | undefined;
    do {
      const root = await call(action, { ...params, MaxResults: pageSize, NextToken: nextToken }, options);
      out.push(...read(root));
      nextToken = text(root, 'nextToken') || undefined;
    } while (nextToken);
    return out;
  };
  /** Every item of a paged Describe call, in the API's order. */
  const all = (action: string, set: string, params: Params = {}, pageSize = 1000): Promise<XmlElement[]> =>
    pages(action, params, pageSize, (root) => items(root, set));
  const volumes = async (filters: readonly Filter[] = []): Promise<Volume[]> =>
    (await all('DescribeVolumes', 'volumeSet', filterParams(filters), 500)).map(toVolume);
  const modifyAttribute = async (id: string, params: Params) => void (await call('ModifyInstanceAttribute', { InstanceId: id, ...params }));

  return {
    region,

    /** Checks the keys with a cheap signed call; rejects with AuthFailure / SignatureDoesNotMatch. */
    verify: async () => void (await call('DescribeInstances', { MaxResults: 5 })),

    async regions(): Promise<readonly string[]> {
      try {
        const names = items(await call('DescribeRegions'), 'regionInfo').map((r) => text(r, 'regionName') ?? '');
        return names.length > 0 ? names.filter((n) => n !== '').sort() : FALLBACK_REGIONS;
      } catch (err) {
        if (err instanceof ApiError && err.code === 'NotImplemented') return FALLBACK_REGIONS;
        throw err;
      }
    },

    /**
     * One page of DescribeInstances. `lean`: only the members the list shows are read (the rest of the
     * answer is skipped unparsed), which is what keeps thousands of instances cheap to read.
     */
    async describeInstances(opts: {
      filters?: readonly Filter[];
      ids?: readonly string[];
      maxResults?: number;
      nextToken?: string | undefined;
      lean?: boolean;
    }): Promise<InstancePage> {
      const root = await call(
        'DescribeInstances',
        {
          ...listParams('InstanceId', opts.ids ?? []),
          ...filterParams(opts.filters ?? []),
          MaxResults: opts.maxResults,
          NextToken: opts.nextToken,
        },
        opts.lean ? { skip: LIST_SKIPS } : undefined,
      );
      return { instances: instancesOf(root), nextToken: text(root, 'nextToken') || undefined };
    },

    /** Status checks, every state included (IncludeAllInstances). */
    async describeStatuses(opts: { ids?: readonly string[]; maxResults?: number; nextToken?: string | undefined }): Promise<StatusPage> {
      const root = await call('DescribeInstanceStatus', {
        ...listParams('InstanceId', opts.ids ?? []),
        IncludeAllInstances: true,
        MaxResults: opts.maxResults,
        NextToken: opts.nextToken,
      });
      return { statuses: items(root, 'instanceStatusSet').map(toInstanceStatus), nextToken: text(root, 'nextToken') || undefined };
    },

    instance: async (id: string): Promise<Instance | undefined> => instancesOf(await call('DescribeInstances', { 'InstanceId.1': id }))[0],

    /** Every instance the filters let through (every page, read lean as the list reads them). */
    allInstances: (filters: readonly Filter[]): Promise<Instance[]> =>
      pages('DescribeInstances', filterParams(filters), 1000, instancesOf, { skip: LIST_SKIPS }),

    async launch(req: LaunchRequest): Promise<Instance[]> {
      const tags: Params =
        req.tags.length === 0
          ? {}
          : {
              'TagSpecification.1.ResourceType': 'instance',
              ...Object.fromEntries(
                req.tags.flatMap((t, i) => [
                  [`TagSpecification.1.Tag.${i + 1}.Key`, t.key],
                  [`TagSpecification.1.Tag.${i + 1}.Value`, t.value],
                ]),
              ),
            };
      const root = await call('RunInstances', {
        ImageId: req.imageId,
        InstanceType: req.instanceType,
        MinCount: req.count,
        MaxCount: req.count,
        KeyName: req.keyName,
        ...tags,
        'CpuOptions.NestedVirtualization': req.nestedVirtualization,
        'HibernationOptions.Configured': req.hibernation ? true : undefined,
        UserData: req.userData ? toBase64(req.userData) : undefined,
      });
      return instancesOf(root);
    },

    start: (ids: readonly string[]): Promise<InstanceStateChange[]> => stateChanges('StartInstances', ids),
    stop: (ids: readonly string[], opts: StopOptions = {}): Promise<InstanceStateChange[]> =>
      stateChanges('StopInstances', ids, { Force: opts.force || undefined, Hibernate: opts.hibernate || undefined }),
    reboot: async (ids: readonly string[]): Promise<void> => void (await call('RebootInstances', listParams('InstanceId', ids))),
    terminate: (ids: readonly string[]): Promise<InstanceStateChange[]> => stateChanges('TerminateInstances', ids),

    async modifyCpuOptions(id: string, change: CpuOptionsChange): Promise<ModifyInstanceCpuOptionsResult> {
      const root = await call('ModifyInstanceCpuOptions', {
        InstanceId: id,
        CoreCount: change.coreCount,
        ThreadsPerCore: change.threadsPerCore,
        NestedVirtualization: change.nestedVirtualization,
      });
      const num = (name: string) => (text(root, name) ? Number(text(root, name)) : undefined);
      return {
        InstanceId: text(root, 'instanceId'),
        CoreCount: num('coreCount'),
        ThreadsPerCore: num('threadsPerCore'),
        ...(child(root, 'nestedVirtualization') ? { NestedVirtualization: text(root, 'nestedVirtualization') as 'enabled' } : {}),
      };
    },

    modifyInstanceType: (id: string, type: string) => modifyAttribute(id, { 'InstanceType.Value': type }),

    /** The instance's user data as text ('' when it has none). */
    userData: async (id: string): Promise<string> => {
      const value = text(await call('DescribeInstanceAttribute', { InstanceId: id, Attribute: 'userData' }), 'userData', 'value');
      return value ? fromBase64(value) : '';
    },
    modifyUserData: (id: string, userData: string) => modifyAttribute(id, { 'UserData.Value': toBase64(userData) }),

    terminationProtection: async (id: string): Promise<boolean> =>
      text(await call('DescribeInstanceAttribute', { InstanceId: id, Attribute: 'disableApiTermination' }), 'disableApiTermination', 'value') ===
      'true',
    setTerminationProtection: (id: string, on: boolean) => modifyAttribute(id, { 'DisableApiTermination.Value': on }),

    createTags: async (ids: readonly string[], tags: readonly TagInput[]): Promise<void> => {
      const tagParams = tags.flatMap((t, i) => [
        [`Tag.${i + 1}.Key`, t.key],
        [`Tag.${i + 1}.Value`, t.value],
      ]);
      await call('CreateTags', { ...listParams('ResourceId', ids), ...Object.fromEntries(tagParams) });
    },
    /** Deletes the tags with these keys, whatever their values. */
    deleteTags: async (ids: readonly string[], keys: readonly string[]): Promise<void> => {
      const keyParams = keys.map((k, i) => [`Tag.${i + 1}.Key`, k]);
      await call('DeleteTags', { ...listParams('ResourceId', ids), ...Object.fromEntries(keyParams) });
    },

    /** The serial console, decoded (EC2 sends it base64-encoded). */
    consoleOutput: async (id: string): Promise<string> => {
      const output = text(await call('GetConsoleOutput', { InstanceId: id, Latest: true }), 'output');
      return output ? fromBase64(output) : '';
    },

    instanceTypes: (): Promise<readonly InstanceTypeInfo[]> =>
      (instanceTypes ??= forgetOnFailure(
        async () => {
          const all: InstanceTypeInfo[] = [];
          let nextToken: string | undefined;
          do {
            const root = await call('DescribeInstanceTypes', { MaxResults: 100, NextToken: nextToken });
            all.push(...items(root, 'instanceTypeSet').map(toInstanceTypeInfo));
            nextToken = text(root, 'nextToken') || undefined;
          } while (nextToken);
          return all;
        },
        () => (instanceTypes = undefined),
      )),

    images: (): Promise<readonly Image[]> =>
      (images ??= forgetOnFailure(
        async () => items(await call('DescribeImages'), 'imagesSet').map(toImage),
        () => (images = undefined),
      )),

    /** The account's instance quota in this Region (DescribeAccountAttributes max-instances); undefined when not told. */
    maxInstances: (): Promise<number | undefined> =>
      (maxInstances ??= forgetOnFailure(
        async () => {
          const root = await call('DescribeAccountAttributes', { 'AttributeName.1': 'max-instances' });
          const value = text(items(root, 'accountAttributeSet')[0], 'attributeValueSet', 'item', 'attributeValue');
          return value && /^\d+$/.test(value) ? Number(value) : undefined;
        },
        () => (maxInstances = undefined),
      )),

    // --- networks, security groups and storage -----------------------------------------------------------

    vpcs: async (): Promise<Vpc[]> => (await all('DescribeVpcs', 'vpcSet')).map(toVpc),
    subnets: async (filters: readonly Filter[] = []): Promise<Subnet[]> => (await all('DescribeSubnets', 'subnetSet', filterParams(filters))).map(toSubnet),
    internetGateways: async (): Promise<InternetGateway[]> => (await all('DescribeInternetGateways', 'internetGatewaySet')).map(toInternetGateway),
    routeTables: async (): Promise<RouteTable[]> => (await all('DescribeRouteTables', 'routeTableSet', {}, 100)).map(toRouteTable),
    availabilityZones: async (): Promise<AvailabilityZone[]> =>
      items(await call('DescribeAvailabilityZones'), 'availabilityZoneInfo').map((z) => ({ ZoneName: text(z, 'zoneName'), ZoneId: text(z, 'zoneId') })),

    createVpc: async (cidr: string, tags: readonly TagInput[]): Promise<string> =>
      text(await call('CreateVpc', { CidrBlock: cidr, ...tagSpecificationParams('vpc', tags) }), 'vpc', 'vpcId') ?? '',
    createSubnet: async (vpcId: string, cidr: string, zone: string | undefined, tags: readonly TagInput[]): Promise<string> =>
      text(
        await call('CreateSubnet', { VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: zone || undefined, ...tagSpecificationParams('subnet', tags) }),
        'subnet',
        'subnetId',
      ) ?? '',

    securityGroups: async (opts: { ids?: readonly string[]; filters?: readonly Filter[] } = {}): Promise<SecurityGroup[]> =>
      (await all('DescribeSecurityGroups', 'securityGroupInfo', { ...listParams('GroupId', opts.ids ?? []), ...filterParams(opts.filters ?? []) })).map(
        toSecurityGroup,
      ),
    securityGroup: async (id: string): Promise<SecurityGroup | undefined> =>
      items(await call('DescribeSecurityGroups', { 'GroupId.1': id }), 'securityGroupInfo').map(toSecurityGroup)[0],
    /** The rules of these groups (DescribeSecurityGroupRules filtered by group-id), both directions. */
    securityGroupRules: async (groupIds: readonly string[]): Promise<SecurityGroupRule[]> =>
      groupIds.length === 0
        ? []
        : (await all('DescribeSecurityGroupRules', 'securityGroupRuleSet', filterParams([{ name: 'group-id', values: groupIds }]))).map(toSecurityGroupRule),

    createSecurityGroup: async (req: { name: string; description: string; vpcId?: string | undefined; tags: readonly TagInput[] }): Promise<string> =>
      text(
        await call('CreateSecurityGroup', {
          GroupName: req.name,
          GroupDescription: req.description,
          VpcId: req.vpcId || undefined,
          ...tagSpecificationParams('security-group', req.tags),
        }),
        'groupId',
      ) ?? '',
    deleteSecurityGroup: async (id: string): Promise<void> => void (await call('DeleteSecurityGroup', { GroupId: id })),

    /** Authorizes these rules, one IpPermission each; answers the rules made, in the API's order. */
    authorizeRules: async (groupId: string, egress: boolean, specs: readonly RuleSpec[]): Promise<SecurityGroupRule[]> => {
      const params = Object.assign({}, ...specs.map((s, i) => permissionParams(`IpPermissions.${i + 1}`, s))) as Params;
      const root = await call(egress ? 'AuthorizeSecurityGroupEgress' : 'AuthorizeSecurityGroupIngress', { GroupId: groupId, ...params });
      return items(root, 'securityGroupRuleSet').map(toSecurityGroupRule);
    },
    revokeRules: async (groupId: string, egress: boolean, ruleIds: readonly string[]): Promise<void> =>
      void (await call(egress ? 'RevokeSecurityGroupEgress' : 'RevokeSecurityGroupIngress', {
        GroupId: groupId,
        ...listParams('SecurityGroupRuleId', ruleIds),
      })),
    modifyRules: async (groupId: string, changes: readonly { ruleId: string; spec: RuleSpec }[]): Promise<void> => {
      const params = Object.assign(
        {},
        ...changes.map((c, i) => ({
          [`SecurityGroupRule.${i + 1}.SecurityGroupRuleId`]: c.ruleId,
          ...ruleRequestParams(`SecurityGroupRule.${i + 1}.SecurityGroupRule`, c.spec),
        })),
      ) as Params;
      await call('ModifySecurityGroupRules', { GroupId: groupId, ...params });
    },

    /** Every volume the filters let through (DescribeVolumes): root volumes and data volumes. */
    volumes,
    /** The volumes attached to an instance (DescribeVolumes filtered by attachment.instance-id). */
    volumesOf: (instanceId: string): Promise<Volume[]> => volumes([{ name: 'attachment.instance-id', values: [instanceId] }]),
    /** CreateVolume: the volume as the API answers it (`creating`). */
    createVolume: async (req: VolumeRequest): Promise<Volume> =>
      toVolume(
        await call('CreateVolume', {
          AvailabilityZone: req.zone,
          Size: req.sizeGiB,
          VolumeType: req.volumeType,
          Iops: req.iops,
          ...tagSpecificationParams('volume', req.tags),
        }),
      ),
    deleteVolume: async (id: string): Promise<void> => void (await call('DeleteVolume', { VolumeId: id })),
    /** AttachVolume: the attachment as the API answers it (`attaching`). */
    attachVolume: async (volumeId: string, instanceId: string, device: string): Promise<VolumeAttachment> =>
      toVolumeAttachment(await call('AttachVolume', { VolumeId: volumeId, InstanceId: instanceId, Device: device })),
    /** DetachVolume: the attachment as the API answers it (`detaching`). */
    detachVolume: async (volumeId: string): Promise<VolumeAttachment> => toVolumeAttachment(await call('DetachVolume', { VolumeId: volumeId })),

    keyPairs: async (): Promise<KeyPairInfo[]> => items(await call('DescribeKeyPairs'), 'keySet').map(toKeyPair),

    createKeyPair: async (name: string, type: KeyType, format: KeyFormat): Promise<CreatedKeyPair> => {
      const root = await call('CreateKeyPair', { KeyName: name, KeyType: type, KeyFormat: format });
      return { name: text(root, 'keyName') ?? name, material: text(root, 'keyMaterial') ?? '', format };
    },
  };
}

export function toBase64(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(text: string): string {
  const binary = atob(text);
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
