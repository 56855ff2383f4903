/**
 * Security groups through the real AWS SDK: CreateSecurityGroup / DeleteSecurityGroup /
 * DescribeSecurityGroups, the rule calls (Authorize/Revoke in both directions, by permission and by
 * rule ID, DescribeSecurityGroupRules, ModifySecurityGroupRules, UpdateSecurityGroupRuleDescriptions*),
 * the default group (kept, but its rules change), dependencies, filters, tags, DryRun, paging and
 * EC2's errors, and one AWS CLI v1 call. Each test works in a Region of its own.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  type AuthorizeSecurityGroupIngressCommandInput,
  CreateSecurityGroupCommand,
  type CreateSecurityGroupCommandInput,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  type DescribeSecurityGroupsCommandInput,
  DescribeTagsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  type Filter,
  type IpPermission,
  ModifySecurityGroupRulesCommand,
  TerminateInstancesCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
  UpdateSecurityGroupRuleDescriptionsIngressCommand,
} from '@aws-sdk/client-ec2';
import { awsCli, awsMissing } from './aws-cli.js';
import { type TestServer, describeOne, errorOf, eventually, launchOne, startTestServer } from './helpers.js';

const ACCOUNT = '000000000000';
const NO_SUCH_GROUP = 'sg-0123456789abcdef0';
const NO_SUCH_RULE = 'sgr-0123456789abcdef0';
const WORLD = '0.0.0.0/0';

let server: TestServer;

before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.close();
});

// --- helpers ----------------------------------------------------------------------------------------

const f = (Name: string, ...Values: string[]): Filter => ({ Name, Values });

async function groups(c: EC2Client, input: DescribeSecurityGroupsCommandInput = {}): Promise<SecurityGroup[]> {
  return (await c.send(new DescribeSecurityGroupsCommand(input))).SecurityGroups ?? [];
}
async function group(c: EC2Client, id: string): Promise<SecurityGroup> {
  const [g] = await groups(c, { GroupIds: [id] });
  return g!;
}
async function create(c: EC2Client, name: string, more: Partial<CreateSecurityGroupCommandInput> = {}): Promise<string> {
  const r = await c.send(new CreateSecurityGroupCommand({ GroupName: name, Description: `${name} group`, ...more }));
  assert.match(r.GroupId!, /^sg-[0-9a-f]{17}$/);
  return r.GroupId!;
}
async function defaultGroup(c: EC2Client): Promise<SecurityGroup> {
  return (await groups(c, { GroupNames: ['default'] }))[0]!;
}
const tcp = (port: number, ...cidrs: string[]): IpPermission => ({
  IpProtocol: 'tcp',
  FromPort: port,
  ToPort: port,
  IpRanges: cidrs.map((CidrIp) => ({ CidrIp })),
});
const ingress = (c: EC2Client, GroupId: string, ...IpPermissions: IpPermission[]) =>
  c.send(new AuthorizeSecurityGroupIngressCommand({ GroupId, IpPermissions }));
const rulesOf = async (c: EC2Client, groupId: string) =>
  (await c.send(new DescribeSecurityGroupRulesCommand({ Filters: [f('group-id', groupId)] }))).SecurityGroupRules ?? [];

// --- create, describe, delete -------------------------------------------------------------------------

test('CreateSecurityGroup: a group in the default VPC with EC2\'s default egress rule and no ingress; described and deleted', async () => {
  const c = server.client('us-west-1');
  const dflt = await defaultGroup(c);
  const id = await create(c, 'web', { Description: 'Web servers' });
  const g = await group(c, id);
  assert.deepEqual(g, {
    GroupId: id,
    GroupName: 'web',
    Description: 'Web servers',
    VpcId: dflt.VpcId,
    OwnerId: ACCOUNT,
    SecurityGroupArn: `arn:aws:ec2:us-west-1:${ACCOUNT}:security-group/${id}`,
    IpPermissions: [],
    IpPermissionsEgress: [{ IpProtocol: '-1', UserIdGroupPairs: [], IpRanges: [{ CidrIp: WORLD }], Ipv6Ranges: [], PrefixListIds: [] }],
  });
  // every group: the default one first, then the created ones; by name (default VPC) too
  assert.deepEqual((await groups(c)).map((x) => x.GroupName), ['default', 'web']);
  assert.deepEqual((await groups(c, { GroupNames: ['web'] })).map((x) => x.GroupId), [id]);
  assert.deepEqual((await groups(c, { GroupIds: [id], GroupNames: ['default'] })).map((x) => x.GroupName), ['default', 'web']);
  // its egress rule has an ID of its own
  const [egress] = await rulesOf(c, id);
  assert.match(egress!.SecurityGroupRuleId!, /^sgr-[0-9a-f]{17}$/);
  assert.deepEqual([egress!.IsEgress, egress!.IpProtocol, egress!.FromPort, egress!.ToPort, egress!.CidrIpv4], [true, '-1', -1, -1, WORLD]);

  const del = await c.send(new DeleteSecurityGroupCommand({ GroupId: id }));
  assert.deepEqual([del.Return, del.GroupId], [true, id]);
  const gone = await errorOf(groups(c, { GroupIds: [id] }));
  assert.deepEqual([gone.code, gone.message], ['InvalidGroup.NotFound', `The security group '${id}' does not exist`]);
  assert.deepEqual(await rulesOf(c, id), []);
  // by name, in the default VPC
  const again = await create(c, 'web');
  await c.send(new DeleteSecurityGroupCommand({ GroupName: 'web' }));
  assert.equal((await errorOf(groups(c, { GroupIds: [again] }))).code, 'InvalidGroup.NotFound');
  const byName = await errorOf(c.send(new DeleteSecurityGroupCommand({ GroupName: 'web' })));
  assert.deepEqual([byName.code, byName.message], ['InvalidGroup.NotFound', `The security group 'web' does not exist in default VPC '${dflt.VpcId}'`]);
  assert.equal((await errorOf(c.send(new DeleteSecurityGroupCommand({ GroupId: NO_SUCH_GROUP })))).code, 'InvalidGroup.NotFound');
  assert.equal((await errorOf(c.send(new DeleteSecurityGroupCommand({ GroupId: 'sg-nope' })))).code, 'InvalidGroupId.Malformed');
});

test('CreateSecurityGroup: EC2\'s checks of names, descriptions and the VPC; duplicates; DryRun; tags', async () => {
  const c = server.client('us-west-2');
  const vpcId = (await defaultGroup(c)).VpcId!;
  const bad = async (input: Partial<CreateSecurityGroupCommandInput>, code: string, text: string) => {
    const e = await errorOf(c.send(new CreateSecurityGroupCommand({ GroupName: 'ok', Description: 'ok', ...input } as CreateSecurityGroupCommandInput)));
    assert.deepEqual([e.code, e.status], [code, 400], JSON.stringify(input));
    assert.ok(e.message.includes(text), e.message);
  };
  await bad({ GroupName: 'sg-web' }, 'InvalidParameterValue', 'Value (sg-web) for parameter GroupName is invalid. Group names may not be in the format sg-*.');
  await bad({ GroupName: 'x'.repeat(256) }, 'InvalidParameterValue', 'x'.repeat(256));
  await bad({ GroupName: 'web<script>' }, 'InvalidParameterValue', 'web<script>');
  await bad({ GroupName: 'wéb' }, 'InvalidParameterValue', 'wéb');
  await bad({ Description: 'tabs\tare\tout' }, 'InvalidParameterValue', 'GroupDescription');
  await bad({ GroupName: '' }, 'MissingParameter', 'GroupName');
  await bad({ Description: '' }, 'MissingParameter', 'GroupDescription');
  await bad({ VpcId: 'vpc-0123456789abcdef0' }, 'InvalidVpcID.NotFound', 'vpc-0123456789abcdef0');
  await bad({ VpcId: 'vpc-x' }, 'InvalidVpcID.Malformed', 'vpc-x');
  await bad({ TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'a', Value: 'b' }] }] }, 'InvalidParameterValue', 'instance');
  // every VPC has its `default` group already
  await bad({ GroupName: 'default' }, 'InvalidGroup.Duplicate', `The security group 'default' already exists for VPC '${vpcId}'`);

  const dry = await errorOf(c.send(new CreateSecurityGroupCommand({ GroupName: 'dry', Description: 'd', DryRun: true })));
  assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);
  assert.deepEqual((await groups(c)).map((g) => g.GroupName), ['default']);

  const tags = [{ Key: 'team', Value: 'web' }];
  const made = await c.send(
    new CreateSecurityGroupCommand({
      GroupName: 'Name with spaces ._-:/()#,@[]+=&;{}!$*',
      Description: 'Allowed: ._-:/()#,@[]+=&;{}!$*',
      VpcId: vpcId,
      TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
    }),
  );
  assert.deepEqual(made.Tags, tags);
  assert.equal(made.SecurityGroupArn, `arn:aws:ec2:us-west-2:${ACCOUNT}:security-group/${made.GroupId}`);
  assert.deepEqual((await group(c, made.GroupId!)).Tags, tags);
  const e = await errorOf(c.send(new CreateSecurityGroupCommand({ GroupName: 'Name with spaces ._-:/()#,@[]+=&;{}!$*', Description: 'again' })));
  assert.deepEqual([e.code, e.message], ['InvalidGroup.Duplicate', `The security group 'Name with spaces ._-:/()#,@[]+=&;{}!$*' already exists for VPC '${vpcId}'`]);
  // names are per VPC and Region: another Region has its own
  await create(server.client('eu-west-3'), 'Name with spaces ._-:/()#,@[]+=&;{}!$*');
});

test('CreateSecurityGroup: two concurrent creates of one name make one group; the other is InvalidGroup.Duplicate', async () => {
  const c = server.client('ca-central-1');
  const results = await Promise.allSettled([create(c, 'race'), create(c, 'race'), create(c, 'race')]);
  const made = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(made.length, 1);
  assert.deepEqual(refused.map((r) => (r.reason as Error).name), ['InvalidGroup.Duplicate', 'InvalidGroup.Duplicate']);
  assert.equal((await groups(c, { Filters: [f('group-name', 'race')] })).length, 1);
});

// --- rules --------------------------------------------------------------------------------------------------

test('AuthorizeSecurityGroupIngress/Egress: CIDRs, IPv6, groups and prefix lists; the rules made; the Describe view groups them', async () => {
  const c = server.client('eu-west-1');
  const web = await create(c, 'web');
  const lb = await create(c, 'lb');
  const made = await ingress(
    c,
    web,
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'office' }, { CidrIp: '192.168.1.7/32' }] },
    { IpProtocol: '6', FromPort: 443, ToPort: 443, Ipv6Ranges: [{ CidrIpv6: '2001:DB8::/32', Description: 'v6' }], UserIdGroupPairs: [{ GroupId: lb, Description: 'from the LB' }] },
    { IpProtocol: 'icmp', FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: '10.1.2.3/16' }] },
    { IpProtocol: '50', IpRanges: [{ CidrIp: WORLD }] },
    { IpProtocol: 'udp', FromPort: 53, ToPort: 53, PrefixListIds: [{ PrefixListId: 'pl-63a5400a' }] },
  );
  assert.equal(made.Return, true);
  const rules = made.SecurityGroupRules!;
  assert.equal(rules.length, 7);
  for (const r of rules) {
    assert.match(r.SecurityGroupRuleId!, /^sgr-[0-9a-f]{17}$/);
    assert.deepEqual([r.GroupId, r.GroupOwnerId, r.IsEgress], [web, ACCOUNT, false]);
    assert.equal(r.SecurityGroupRuleArn, `arn:aws:ec2:eu-west-1:${ACCOUNT}:security-group-rule/${r.SecurityGroupRuleId}`);
  }
  assert.deepEqual(
    rules.map((r) => [r.IpProtocol, r.FromPort, r.ToPort, r.CidrIpv4 ?? r.CidrIpv6 ?? r.ReferencedGroupInfo?.GroupId ?? r.PrefixListId, r.Description]),
    [
      ['tcp', 22, 22, '10.0.0.0/8', 'office'],
      ['tcp', 22, 22, '192.168.1.7/32', undefined],
      // protocol 6 is answered as tcp, IPv6 in lower case; host bits are cleared
      ['tcp', 443, 443, '2001:db8::/32', 'v6'],
      ['tcp', 443, 443, lb, 'from the LB'],
      ['icmp', 8, -1, '10.1.0.0/16', undefined],
      // another protocol: all its traffic, whatever ports were given
      ['50', -1, -1, WORLD, undefined],
      ['udp', 53, 53, 'pl-63a5400a', undefined],
    ],
  );
  const g = await group(c, web);
  assert.deepEqual(g.IpPermissions, [
    {
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      UserIdGroupPairs: [],
      IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'office' }, { CidrIp: '192.168.1.7/32' }],
      Ipv6Ranges: [],
      PrefixListIds: [],
    },
    {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      UserIdGroupPairs: [{ UserId: ACCOUNT, GroupId: lb, Description: 'from the LB' }],
      IpRanges: [],
      Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32', Description: 'v6' }],
      PrefixListIds: [],
    },
    { IpProtocol: 'icmp', FromPort: 8, ToPort: -1, UserIdGroupPairs: [], IpRanges: [{ CidrIp: '10.1.0.0/16' }], Ipv6Ranges: [], PrefixListIds: [] },
    { IpProtocol: '50', UserIdGroupPairs: [], IpRanges: [{ CidrIp: WORLD }], Ipv6Ranges: [], PrefixListIds: [] },
    { IpProtocol: 'udp', FromPort: 53, ToPort: 53, UserIdGroupPairs: [], IpRanges: [], Ipv6Ranges: [], PrefixListIds: [{ PrefixListId: 'pl-63a5400a' }] },
  ]);

  // egress: a second rule beside the default one; the legacy top-level parameters (ingress) too
  const out = await c.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: web, IpPermissions: [tcp(5432, '10.9.0.0/16')] }));
  assert.deepEqual(out.SecurityGroupRules?.map((r) => [r.IsEgress, r.IpProtocol, r.FromPort, r.CidrIpv4]), [[true, 'tcp', 5432, '10.9.0.0/16']]);
  const legacy = await c.send(new AuthorizeSecurityGroupIngressCommand({ GroupName: 'lb', IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: WORLD }));
  assert.deepEqual(legacy.SecurityGroupRules?.map((r) => [r.GroupId, r.IpProtocol, r.FromPort, r.ToPort, r.CidrIpv4]), [[lb, 'tcp', 80, 80, WORLD]]);
  const bySourceName = await c.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: lb, SourceSecurityGroupName: 'web' }));
  assert.deepEqual(bySourceName.SecurityGroupRules?.map((r) => [r.IpProtocol, r.ReferencedGroupInfo?.GroupId]), [['-1', web]]);
  assert.deepEqual((await group(c, web)).IpPermissionsEgress?.map((p) => [p.IpProtocol, p.FromPort]), [['-1', undefined], ['tcp', 5432]]);
});

test('Authorize: EC2\'s errors for protocols, ports, CIDRs, peers and duplicates; nothing of a refused request is kept', async () => {
  const c = server.client('eu-west-2');
  const web = await create(c, 'web');
  const bad = async (perm: IpPermission, code: string, text: string, extra: Partial<AuthorizeSecurityGroupIngressCommandInput> = {}) => {
    const e = await errorOf(c.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [perm], ...extra })));
    assert.deepEqual([e.code, e.status], [code, 400], JSON.stringify(perm));
    assert.equal(e.message, text);
  };
  await bad({ IpProtocol: 'sctpx', IpRanges: [{ CidrIp: WORLD }] }, 'InvalidParameterValue', "Invalid value 'sctpx' for IP protocol. Unknown protocol.");
  await bad({ IpProtocol: '256', IpRanges: [{ CidrIp: WORLD }] }, 'InvalidParameterValue', "Invalid value '256' for IP protocol. Unknown protocol.");
  await bad({ IpProtocol: 'tcp', FromPort: 22, IpRanges: [{ CidrIp: WORLD }] }, 'InvalidParameterValue', "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.");
  await bad({ IpProtocol: 'icmp', IpRanges: [{ CidrIp: WORLD }] }, 'InvalidParameterValue', "Invalid value 'Must specify both from and to ports with ICMP.' for portRange.");
  await bad(tcp(70000, WORLD), 'InvalidParameterValue', 'TCP/UDP (from) port (70000) out of range');
  await bad({ ...tcp(22, WORLD), FromPort: -1, ToPort: -1 }, 'InvalidParameterValue', 'TCP/UDP (from) port (-1) out of range');
  await bad({ ...tcp(22, WORLD), FromPort: 90, ToPort: 80 }, 'InvalidParameterValue', 'Invalid TCP/UDP port range: the from port (90) is greater than the to port (80).');
  await bad({ IpProtocol: 'icmp', FromPort: 300, ToPort: 0, IpRanges: [{ CidrIp: WORLD }] }, 'InvalidParameterValue', 'ICMP type (300) out of range');
  await bad(tcp(22, '10.0.0.0/33'), 'InvalidParameterValue', 'Value (10.0.0.0/33) for parameter cidrIp is invalid. This is not a valid CIDR block.');
  await bad(tcp(22, '10.0.0.1'), 'InvalidParameterValue', 'Value (10.0.0.1) for parameter cidrIp is invalid. This is not a valid CIDR block.');
  await bad({ ...tcp(22), Ipv6Ranges: [{ CidrIpv6: 'fe80::zz/64' }] }, 'InvalidParameterValue', 'Value (fe80::zz/64) for parameter cidrIpv6 is invalid. This is not a valid CIDR block.');
  await bad({ ...tcp(22), UserIdGroupPairs: [{ GroupId: NO_SUCH_GROUP }] }, 'InvalidGroup.NotFound', `The security group '${NO_SUCH_GROUP}' does not exist`);
  await bad({ ...tcp(22), UserIdGroupPairs: [{ GroupId: 'sg-1' }] }, 'InvalidGroupId.Malformed', 'Invalid id: "sg-1" (expecting "sg-...")');
  await bad({ ...tcp(22), PrefixListIds: [{ PrefixListId: 'pl-x' }] }, 'InvalidPrefixListId.Malformed', 'Invalid id: "pl-x" (expecting "pl-...")');
  await bad(tcp(22), 'MissingParameter', 'The request must contain the parameter IpPermissions.N.IpRanges, Ipv6Ranges, UserIdGroupPairs or PrefixListIds');
  await bad({ ...tcp(22, WORLD), IpRanges: [{ CidrIp: WORLD, Description: 'no <tags>' }] }, 'InvalidParameterValue', 'Value (no <tags>) for parameter Description is invalid. Rule descriptions are up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*.');
  const other = await errorOf(c.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: NO_SUCH_GROUP, IpPermissions: [tcp(22, WORLD)] })));
  assert.deepEqual([other.code, other.message], ['InvalidGroup.NotFound', `The security group '${NO_SUCH_GROUP}' does not exist`]);
  // a group of another Region is not the caller's
  const foreign = await create(server.client('eu-south-1'), 'foreign');
  await bad({ ...tcp(22), UserIdGroupPairs: [{ GroupId: foreign }] }, 'InvalidGroup.NotFound', `The security group '${foreign}' does not exist`);
  const dry = await errorOf(c.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [tcp(22, WORLD)], DryRun: true })));
  assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);
  assert.deepEqual((await group(c, web)).IpPermissions, []);

  // duplicates, quoting the rule as EC2 does: of a rule there, and within one request
  await ingress(c, web, tcp(22, WORLD));
  const dup = await errorOf(ingress(c, web, tcp(80, '10.0.0.0/8'), tcp(22, WORLD)));
  assert.deepEqual([dup.code, dup.message], ['InvalidPermission.Duplicate', 'the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists']);
  const twice = await errorOf(ingress(c, web, tcp(80, '10.0.0.0/8', '10.0.0.0/8')));
  assert.equal(twice.message, 'the specified rule "peer: 10.0.0.0/8, TCP, from port: 80, to port: 80, ALLOW" already exists');
  // a description does not make a rule another one
  const described = await errorOf(ingress(c, web, { ...tcp(22), IpRanges: [{ CidrIp: WORLD, Description: 'ssh' }] }));
  assert.equal(described.code, 'InvalidPermission.Duplicate');
  const all = await errorOf(c.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: WORLD }] }] })));
  assert.equal(all.message, 'the specified rule "peer: 0.0.0.0/0, ALL, ALLOW" already exists');
  assert.deepEqual((await group(c, web)).IpPermissions?.map((p) => p.FromPort), [22]);

  // 60 rules a direction
  const many = Array.from({ length: 59 }, (_, i) => `10.${i}.0.0/16`);
  await ingress(c, web, tcp(443, ...many));
  const full = await errorOf(ingress(c, web, tcp(8443, WORLD)));
  assert.deepEqual([full.code, full.message], ['RulesPerSecurityGroupLimitExceeded', 'The maximum number of rules per security group has been reached (60 inbound rules).']);
  await c.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: web, IpPermissions: [tcp(8443, WORLD)] }));
});

test('RevokeSecurityGroupIngress/Egress: by permission or by rule ID; unknown rules in the default VPC are answered, not refused', async () => {
  const c = server.client('ap-south-1');
  const web = await create(c, 'web');
  const lb = await create(c, 'lb');
  const made = await ingress(c, web, tcp(22, WORLD, '10.0.0.0/8'), { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: lb }] });
  const [ssh, office, fromLb] = made.SecurityGroupRules!;

  // by what it is (the description need not be given), with an unknown one beside it
  const r1 = await c.send(
    new RevokeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [tcp(22, WORLD, '172.16.0.0/12'), { IpProtocol: 'udp', FromPort: 1, ToPort: 2, UserIdGroupPairs: [{ GroupId: lb }] }] }),
  );
  assert.equal(r1.Return, true);
  assert.deepEqual(r1.RevokedSecurityGroupRules?.map((r) => [r.SecurityGroupRuleId, r.CidrIpv4, r.IsEgress]), [[ssh!.SecurityGroupRuleId, WORLD, false]]);
  assert.deepEqual(r1.UnknownIpPermissions, [
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, UserIdGroupPairs: [], IpRanges: [{ CidrIp: '172.16.0.0/12' }], Ipv6Ranges: [], PrefixListIds: [] },
    { IpProtocol: 'udp', FromPort: 1, ToPort: 2, UserIdGroupPairs: [{ UserId: ACCOUNT, GroupId: lb }], IpRanges: [], Ipv6Ranges: [], PrefixListIds: [] },
  ]);
  // by rule ID
  const r2 = await c.send(new RevokeSecurityGroupIngressCommand({ GroupId: web, SecurityGroupRuleIds: [fromLb!.SecurityGroupRuleId!] }));
  assert.deepEqual(r2.RevokedSecurityGroupRules?.map((r) => [r.SecurityGroupRuleId, r.ReferencedGroupId]), [[fromLb!.SecurityGroupRuleId, lb]]);
  assert.equal(r2.UnknownIpPermissions, undefined);
  assert.deepEqual((await rulesOf(c, web)).filter((r) => !r.IsEgress).map((r) => r.SecurityGroupRuleId), [office!.SecurityGroupRuleId]);
  // a rule ID of the other direction, an unknown one, a malformed one
  const [egress] = (await rulesOf(c, web)).filter((r) => r.IsEgress);
  for (const id of [egress!.SecurityGroupRuleId!, NO_SUCH_RULE]) {
    const e = await errorOf(c.send(new RevokeSecurityGroupIngressCommand({ GroupId: web, SecurityGroupRuleIds: [id] })));
    assert.deepEqual([e.code, e.message], ['InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${id}' does not exist`]);
  }
  const malformed = await errorOf(c.send(new RevokeSecurityGroupIngressCommand({ GroupId: web, SecurityGroupRuleIds: ['sgr-1'] })));
  assert.deepEqual([malformed.code, malformed.message], ['InvalidSecurityGroupRuleId.Malformed', 'Invalid id: "sgr-1" (expecting "sgr-...")']);
  const dry = await errorOf(c.send(new RevokeSecurityGroupEgressCommand({ GroupId: web, SecurityGroupRuleIds: [egress!.SecurityGroupRuleId!], DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  // egress: the default rule goes
  await c.send(new RevokeSecurityGroupEgressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: WORLD }] }] }));
  assert.deepEqual((await group(c, web)).IpPermissionsEgress, []);
  assert.equal((await errorOf(c.send(new RevokeSecurityGroupEgressCommand({ GroupId: web })))).code, 'MissingParameter');
});

test('a VPC other than the default: revoking a rule that is not there is InvalidPermission.NotFound; rules stay within one VPC', async () => {
  const c = server.client('ap-south-2');
  const vpc = (await c.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
  const inVpc = await create(c, 'app', { VpcId: vpc });
  const inDefault = await create(c, 'app');
  assert.notEqual(inVpc, inDefault);
  // the new VPC's own default group is there, and by name only the default VPC's groups are found
  const vpcGroups = await groups(c, { Filters: [f('vpc-id', vpc)] });
  assert.deepEqual(vpcGroups.map((g) => g.GroupName).sort(), ['app', 'default']);
  await ingress(c, inVpc, tcp(22, '10.20.0.0/16'));
  const e = await errorOf(c.send(new RevokeSecurityGroupIngressCommand({ GroupId: inVpc, IpPermissions: [tcp(22, WORLD), tcp(22, '10.20.0.0/16')] })));
  assert.deepEqual([e.code, e.message], ['InvalidPermission.NotFound', 'The specified rule does not exist in this security group.']);
  assert.equal((await group(c, inVpc)).IpPermissions?.length, 1, 'nothing was revoked');
  const cross = await errorOf(ingress(c, inVpc, { ...tcp(22), UserIdGroupPairs: [{ GroupId: inDefault }] }));
  assert.deepEqual([cross.code, cross.message], ['InvalidGroup.NotFound', `You have specified two resources that belong to different networks: ${inVpc} and ${inDefault}.`]);
  const vpcDefault = vpcGroups.find((g) => g.GroupName === 'default')!;
  const cannot = await errorOf(c.send(new DeleteSecurityGroupCommand({ GroupId: vpcDefault.GroupId })));
  assert.equal(cannot.code, 'CannotDelete');
});

test('DescribeSecurityGroupRules, ModifySecurityGroupRules and UpdateSecurityGroupRuleDescriptionsIngress', async () => {
  const c = server.client('ap-southeast-1');
  const web = await create(c, 'web');
  const db = await create(c, 'db');
  const [a, b] = (await ingress(c, web, tcp(22, WORLD), tcp(80, WORLD))).SecurityGroupRules!;
  const [x] = (await ingress(c, db, tcp(5432, '10.0.0.0/8'))).SecurityGroupRules!;
  await c.send(new CreateTagsCommand({ Resources: [web], Tags: [{ Key: 'tier', Value: 'web' }] }));

  const all = (await c.send(new DescribeSecurityGroupRulesCommand({}))).SecurityGroupRules!;
  // the default group's three, two egress rules of the new groups, and the three made
  assert.equal(all.length, 3 + 2 + 3);
  const byIds = (await c.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [b!.SecurityGroupRuleId!, x!.SecurityGroupRuleId!] }))).SecurityGroupRules!;
  assert.deepEqual(byIds.map((r) => r.SecurityGroupRuleId), [b!.SecurityGroupRuleId, x!.SecurityGroupRuleId]);
  assert.deepEqual(byIds[0]!.Tags, []);
  const filtered = await c.send(new DescribeSecurityGroupRulesCommand({ Filters: [f('security-group-rule-id', a!.SecurityGroupRuleId!)] }));
  assert.deepEqual(filtered.SecurityGroupRules?.map((r) => r.FromPort), [22]);
  const unknown = await errorOf(c.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [NO_SUCH_RULE] })));
  assert.deepEqual([unknown.code, unknown.message], ['InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${NO_SUCH_RULE}' does not exist`]);
  assert.equal((await errorOf(c.send(new DescribeSecurityGroupRulesCommand({ Filters: [f('cidr', WORLD)] })))).message, "The filter 'cidr' is invalid");
  // paging
  const page1 = await c.send(new DescribeSecurityGroupRulesCommand({ MaxResults: 5 }));
  const page2 = await c.send(new DescribeSecurityGroupRulesCommand({ MaxResults: 5, NextToken: page1.NextToken }));
  assert.deepEqual([page1.SecurityGroupRules?.length, page2.SecurityGroupRules?.length, page2.NextToken], [5, 3, undefined]);
  assert.deepEqual([...page1.SecurityGroupRules!, ...page2.SecurityGroupRules!].map((r) => r.SecurityGroupRuleId), all.map((r) => r.SecurityGroupRuleId));

  // Modify: a rule keeps its ID and direction, and becomes what the request says
  const mod = await c.send(
    new ModifySecurityGroupRulesCommand({
      GroupId: web,
      SecurityGroupRules: [{ SecurityGroupRuleId: a!.SecurityGroupRuleId, SecurityGroupRule: { IpProtocol: 'tcp', FromPort: 2222, ToPort: 2222, ReferencedGroupId: db, Description: 'from db' } }],
    }),
  );
  assert.equal(mod.Return, true);
  const [changed] = (await c.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [a!.SecurityGroupRuleId!] }))).SecurityGroupRules!;
  assert.deepEqual(
    [changed!.IsEgress, changed!.FromPort, changed!.ReferencedGroupInfo, changed!.CidrIpv4, changed!.Description],
    [false, 2222, { GroupId: db, UserId: ACCOUNT }, undefined, 'from db'],
  );
  // into a duplicate of another rule; a rule of another group; no peer
  const modify = (id: string, rule: object, GroupId = web) =>
    errorOf(c.send(new ModifySecurityGroupRulesCommand({ GroupId, SecurityGroupRules: [{ SecurityGroupRuleId: id, SecurityGroupRule: rule }] })));
  const dup = await modify(a!.SecurityGroupRuleId!, { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIpv4: WORLD });
  assert.deepEqual([dup.code, dup.message], ['InvalidPermission.Duplicate', 'the specified rule "peer: 0.0.0.0/0, TCP, from port: 80, to port: 80, ALLOW" already exists']);
  const foreign = await modify(x!.SecurityGroupRuleId!, { IpProtocol: 'tcp', FromPort: 1, ToPort: 1, CidrIpv4: WORLD });
  assert.deepEqual([foreign.code, foreign.message], ['InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${x!.SecurityGroupRuleId}' does not exist`]);
  assert.equal((await modify(a!.SecurityGroupRuleId!, { IpProtocol: 'tcp', FromPort: 1, ToPort: 1 })).code, 'MissingParameter');
  assert.equal((await modify(a!.SecurityGroupRuleId!, { IpProtocol: 'tcp', FromPort: 1, ToPort: 1, CidrIpv4: WORLD, PrefixListId: 'pl-63a5400a' })).code, 'InvalidParameterCombination');

  // descriptions, by rule ID or by what the rule is
  await c.send(new UpdateSecurityGroupRuleDescriptionsIngressCommand({ GroupId: web, SecurityGroupRuleDescriptions: [{ SecurityGroupRuleId: b!.SecurityGroupRuleId, Description: 'http' }] }));
  await c.send(new UpdateSecurityGroupRuleDescriptionsIngressCommand({ GroupName: 'db', IpPermissions: [{ ...tcp(5432), IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'postgres' }] }] }));
  assert.deepEqual((await group(c, web)).IpPermissions?.find((p) => p.FromPort === 80)?.IpRanges, [{ CidrIp: WORLD, Description: 'http' }]);
  assert.deepEqual((await group(c, db)).IpPermissions?.[0]?.IpRanges, [{ CidrIp: '10.0.0.0/8', Description: 'postgres' }]);
  const notThere = await errorOf(c.send(new UpdateSecurityGroupRuleDescriptionsIngressCommand({ GroupId: db, IpPermissions: [tcp(1, WORLD)] })));
  assert.equal(notThere.code, 'InvalidPermission.NotFound');
});

test('the default group: it cannot be deleted, but its rules can be added and removed (then it is stored)', async () => {
  const c = server.client('ap-northeast-3');
  const dflt = await defaultGroup(c);
  const id = dflt.GroupId!;
  for (const input of [{ GroupId: id }, { GroupName: 'default' }]) {
    const e = await errorOf(c.send(new DeleteSecurityGroupCommand(input)));
    assert.deepEqual([e.code, e.status, e.message], ['CannotDelete', 400, `the specified group: "${id}" name: "default" cannot be deleted by a user`]);
  }
  const rule = (await ingress(c, id, tcp(80, WORLD))).SecurityGroupRules![0]!;
  assert.deepEqual((await group(c, id)).IpPermissions?.map((p) => [p.IpProtocol, p.FromPort]), [['-1', undefined], ['tcp', 22], ['tcp', 80]]);
  // nestbox's SSH rule goes like any other
  await c.send(new RevokeSecurityGroupIngressCommand({ GroupName: 'default', IpPermissions: [tcp(22, WORLD)] }));
  await c.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, SecurityGroupRuleIds: [rule.SecurityGroupRuleId!] }));
  const after = await group(c, id);
  assert.deepEqual(after.IpPermissions, [
    { IpProtocol: '-1', UserIdGroupPairs: [{ UserId: ACCOUNT, GroupId: id }], IpRanges: [], Ipv6Ranges: [], PrefixListIds: [] },
  ]);
  assert.deepEqual({ ...after, IpPermissions: undefined }, { ...dflt, IpPermissions: undefined });
  // the stored group is the one every call sees, in place of the derived one
  assert.deepEqual((await groups(c)).map((g) => g.GroupId), [id]);
});

test('DeleteSecurityGroup: a group another group\'s rule references is DependencyViolation until the rule goes', async () => {
  const c = server.client('sa-east-1');
  const web = await create(c, 'web');
  const lb = await create(c, 'lb');
  const self = await create(c, 'self');
  await ingress(c, web, { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: lb }] });
  // a group referencing itself is no obstacle
  await ingress(c, self, { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: self }] });
  await c.send(new DeleteSecurityGroupCommand({ GroupId: self }));
  const e = await errorOf(c.send(new DeleteSecurityGroupCommand({ GroupId: lb })));
  assert.deepEqual([e.code, e.status, e.message], ['DependencyViolation', 400, `resource ${lb} has a dependent object`]);
  const referencing = await groups(c, { Filters: [f('ip-permission.group-id', lb)] });
  assert.deepEqual(referencing.map((g) => g.GroupName), ['web']);
  assert.deepEqual((await groups(c, { Filters: [f('ip-permission.group-name', 'lb')] })).map((g) => g.GroupId), [web]);
  await c.send(new RevokeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: 'all', UserIdGroupPairs: [{ GroupId: lb }] }] }));
  const dry = await errorOf(c.send(new DeleteSecurityGroupCommand({ GroupId: lb, DryRun: true })));
  assert.equal(dry.code, 'DryRunOperation');
  await c.send(new DeleteSecurityGroupCommand({ GroupId: lb }));
  assert.deepEqual((await groups(c)).map((g) => g.GroupName), ['default', 'web']);
});

test('DeleteSecurityGroup: a group an instance uses is DependencyViolation until the instance is terminated', async () => {
  const c = server.client('af-south-1');
  const app = await create(c, 'app');
  const i = await launchOne(c, { SecurityGroupIds: [app] });
  assert.deepEqual(i.SecurityGroups, [{ GroupId: app, GroupName: 'app' }]);
  const e = await errorOf(c.send(new DeleteSecurityGroupCommand({ GroupId: app })));
  assert.deepEqual([e.code, e.message], ['DependencyViolation', `resource ${app} has a dependent object`]);
  await c.send(new TerminateInstancesCommand({ InstanceIds: [i.InstanceId!] }));
  await eventually(async () => ((await describeOne(c, i.InstanceId!)).State?.Name === 'terminated' ? true : undefined), 10_000, 'terminated');
  await c.send(new DeleteSecurityGroupCommand({ GroupId: app }));
});

test('DescribeSecurityGroups: filters over groups and rules, tags (also of rules), paging, errors', async () => {
  const c = server.client('me-south-1');
  const names = ['a1', 'a2', 'a3', 'b1', 'b2', 'b3'];
  const ids: Record<string, string> = {};
  for (const n of names) ids[n] = await create(c, n, { TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'letter', Value: n[0]! }] }] });
  await ingress(c, ids.a1!, tcp(443, '10.0.0.0/8'));
  const tagged = await c.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: ids.b1,
      IpPermissions: [{ IpProtocol: 'udp', FromPort: 1000, ToPort: 2000, Ipv6Ranges: [{ CidrIpv6: '::/0' }] }],
      TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: [{ Key: 'why', Value: 'game' }] }],
    }),
  );
  assert.deepEqual(tagged.SecurityGroupRules?.[0]?.Tags, [{ Key: 'why', Value: 'game' }]);
  const ruleId = tagged.SecurityGroupRules![0]!.SecurityGroupRuleId!;
  const rules = await c.send(new DescribeSecurityGroupRulesCommand({ Filters: [f('tag:why', 'game')] }));
  assert.deepEqual(rules.SecurityGroupRules?.map((r) => [r.SecurityGroupRuleId, r.Tags]), [[ruleId, [{ Key: 'why', Value: 'game' }]]]);
  const ruleTags = await c.send(new DescribeTagsCommand({ Filters: [f('resource-id', ruleId)] }));
  assert.deepEqual(ruleTags.Tags?.map((t) => [t.ResourceType, t.Key]), [['security-group-rule', 'why']]);

  const found = async (...filters: Filter[]) => (await groups(c, { Filters: filters })).map((g) => g.GroupName);
  assert.deepEqual(await found(f('group-name', 'a*')), ['a1', 'a2', 'a3']);
  assert.deepEqual(await found(f('tag:letter', 'b')), ['b1', 'b2', 'b3']);
  assert.deepEqual(await found(f('tag-key', 'letter'), f('description', 'a2 group')), ['a2']);
  assert.deepEqual(await found(f('ip-permission.cidr', '10.0.0.0/8'), f('ip-permission.from-port', '443')), ['a1']);
  assert.deepEqual(await found(f('ip-permission.ipv6-cidr', '::/0'), f('ip-permission.protocol', 'udp'), f('ip-permission.to-port', '2000')), ['b1']);
  assert.deepEqual((await found(f('egress.ip-permission.cidr', WORLD))).length, 7);
  assert.deepEqual(await found(f('group-id', ids.b2!, ids.b3!), f('owner-id', ACCOUNT)), ['b2', 'b3']);

  const page1 = await c.send(new DescribeSecurityGroupsCommand({ MaxResults: 5 }));
  assert.deepEqual(page1.SecurityGroups?.map((g) => g.GroupName), ['default', 'a1', 'a2', 'a3', 'b1']);
  const page2 = await c.send(new DescribeSecurityGroupsCommand({ MaxResults: 5, NextToken: page1.NextToken }));
  assert.deepEqual([page2.SecurityGroups?.map((g) => g.GroupName), page2.NextToken], [['b2', 'b3'], undefined]);
  const stale = await errorOf(c.send(new DescribeSecurityGroupsCommand({ MaxResults: 5, NextToken: page1.NextToken, Filters: [f('group-name', 'a*')] })));
  assert.equal(stale.code, 'InvalidNextToken');
  const tooFew = await errorOf(c.send(new DescribeSecurityGroupsCommand({ MaxResults: 4 })));
  assert.deepEqual([tooFew.code, tooFew.message], ['InvalidParameterValue', 'Value (4) for parameter maxResults is invalid. Expecting a value between 5 and 1000.']);
  const bad = await errorOf(c.send(new DescribeSecurityGroupsCommand({ Filters: [f('ip-permission.nope', 'x')] })));
  assert.deepEqual([bad.code, bad.message], ['InvalidParameterValue', "The filter 'ip-permission.nope' is invalid"]);
  const dry = await errorOf(c.send(new DescribeSecurityGroupsCommand({ DryRun: true })));
  assert.deepEqual([dry.code, dry.status], ['DryRunOperation', 412]);
  // tags on a created group through CreateTags; DescribeTags names its type
  await c.send(new CreateTagsCommand({ Resources: [ids.a3!], Tags: [{ Key: 'extra', Value: '1' }] }));
  assert.deepEqual((await group(c, ids.a3!)).Tags, [{ Key: 'letter', Value: 'a' }, { Key: 'extra', Value: '1' }]);
  const described = await c.send(new DescribeTagsCommand({ Filters: [f('resource-id', ids.a3!)] }));
  assert.deepEqual(described.Tags?.map((t) => [t.ResourceType, t.Key]), [['security-group', 'letter'], ['security-group', 'extra']]);
  // a group's tags and its rules' go with it
  await c.send(new DeleteSecurityGroupCommand({ GroupId: ids.b1 }));
  assert.deepEqual((await c.send(new DescribeTagsCommand({ Filters: [f('resource-id', ids.b1!, ruleId)] }))).Tags, []);
  // the VPC is unchanged by all of it
  assert.equal(((await c.send(new DescribeVpcsCommand({}))).Vpcs ?? []).length, 1);
});

test('AWS CLI v1: authorize-security-group-ingress --protocol tcp --port 22 --cidr 0.0.0.0/0', { skip: awsMissing() }, async () => {
  const c = server.client('us-east-2');
  const id = await create(c, 'cli');
  const cli = awsCli(server.endpoint, 'us-east-2');
  try {
    const out = await cli.ec2Json('authorize-security-group-ingress', '--group-id', id, '--protocol', 'tcp', '--port', '22', '--cidr', WORLD);
    assert.equal(out.Return, true);
    assert.deepEqual(
      out.SecurityGroupRules.map((r: any) => [r.GroupId, r.IsEgress, r.IpProtocol, r.FromPort, r.ToPort, r.CidrIpv4]),
      [[id, false, 'tcp', 22, 22, WORLD]],
    );
    const again = await cli.ec2Fails('authorize-security-group-ingress', '--group-id', id, '--protocol', 'tcp', '--port', '22', '--cidr', WORLD);
    assert.match(again, /InvalidPermission\.Duplicate.*peer: 0\.0\.0\.0\/0, TCP, from port: 22, to port: 22, ALLOW/);
    const revoked = await cli.ec2Json('revoke-security-group-ingress', '--group-id', id, '--protocol', 'tcp', '--port', '22', '--cidr', WORLD);
    assert.equal(revoked.Return, true);
    const described = await cli.ec2Json('describe-security-groups', '--group-ids', id);
    assert.deepEqual(described.SecurityGroups[0].IpPermissions, []);
  } finally {
    cli.close();
  }
});
