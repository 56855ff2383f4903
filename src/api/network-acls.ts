/**
 * DescribeNetworkAcls: every VPC's default network ACL, which EC2 makes with the VPC: it allows all
 * traffic in and out (rule 100) before the final deny (rule 32767), and every subnet of the VPC is
 * associated with it. nestbox derives it from the VPC (its ID is a hash of the VPC's) and has no other
 * network ACLs: Create/Replace/DeleteNetworkAcl* answer NotImplemented. Terraform's aws_vpc reads it.
 */
import { createHash } from 'node:crypto';
import type { DescribeNetworkAclsRequest, DescribeNetworkAclsResult, NetworkAcl, NetworkAclEntry } from '@aws-sdk/client-ec2';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId } from '../domain/ids.js';
import { DESCRIBE_PAGE_LIMITS, paginate } from '../domain/paging.js';
import type { SubnetRecord, VpcRecord } from '../domain/vpc.js';
import { Errors } from '../domain/errors.js';
import { subnetsOf, vpcsOf } from '../services/vpcs.js';
import { tagList } from '../services/tags.js';
import { type Handler, checkDryRun } from './context.js';

const hashed = (prefix: string, ...parts: string[]) => `${prefix}-${createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 17)}`;
export const defaultAclId = (vpcId: string): string => hashed('acl', 'acl', vpcId);

const ENTRIES: readonly NetworkAclEntry[] = [false, true].flatMap((egress) => [
  { CidrBlock: '0.0.0.0/0', Egress: egress, Protocol: '-1', RuleAction: 'allow', RuleNumber: 100 },
  { CidrBlock: '0.0.0.0/0', Egress: egress, Protocol: '-1', RuleAction: 'deny', RuleNumber: 32767 },
]);

function toNetworkAcl(vpc: VpcRecord, subnets: readonly SubnetRecord[]): NetworkAcl {
  const id = defaultAclId(vpc.id);
  return {
    Associations: subnets.map((x) => ({ NetworkAclAssociationId: hashed('aclassoc', 'aclassoc', id, x.id), NetworkAclId: id, SubnetId: x.id })),
    Entries: [...ENTRIES],
    IsDefault: true,
    NetworkAclId: id,
    VpcId: vpc.id,
    OwnerId: vpc.account,
  };
}

function aclFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<NetworkAcl> {
  const entries = (a: NetworkAcl) => a.Entries ?? [];
  const associations = (a: NetworkAcl) => a.Associations ?? [];
  return {
    tags: (a) => tagsOf(a.NetworkAclId!),
    fields: {
      'association.association-id': (a) => associations(a).map((x) => x.NetworkAclAssociationId),
      'association.network-acl-id': (a) => associations(a).map((x) => x.NetworkAclId),
      'association.subnet-id': (a) => associations(a).map((x) => x.SubnetId),
      default: (a) => a.IsDefault,
      'entry.cidr': (a) => entries(a).map((e) => e.CidrBlock),
      'entry.egress': (a) => entries(a).map((e) => e.Egress),
      'entry.protocol': (a) => entries(a).map((e) => e.Protocol),
      'entry.rule-action': (a) => entries(a).map((e) => e.RuleAction),
      'entry.rule-number': (a) => entries(a).map((e) => e.RuleNumber),
      'network-acl-id': (a) => a.NetworkAclId,
      'owner-id': (a) => a.OwnerId,
      'vpc-id': (a) => a.VpcId,
    },
  };
}

export const describeNetworkAcls: Handler<DescribeNetworkAclsRequest, DescribeNetworkAclsResult> = async (input, ctx, s) => {
  const ids = input.NetworkAclIds ?? [];
  for (const id of ids) if (!isWellFormedId('networkAcl', id)) throw Errors.networkAclIdMalformed(id);
  let tags: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  const predicate = compileFilters(aclFilters((id) => tags.get(id)), input.Filters);
  const [vpcs, subnets] = await Promise.all([vpcsOf(s, ctx), subnetsOf(s, ctx)]);
  const all = vpcs.map((v) => toNetworkAcl(v, subnets.filter((x) => x.vpcId === v.id)));
  const missing = ids.filter((id) => !all.some((a) => a.NetworkAclId === id));
  if (missing.length > 0) throw Errors.networkAclIdNotFound(missing);
  checkDryRun(input);
  const wanted = ids.length > 0 ? all.filter((a) => ids.includes(a.NetworkAclId!)) : all;
  tags = await s.store.tagsOfMany(wanted.map((a) => a.NetworkAclId!));
  const withTags = wanted.map((a) => ({ ...a, ...(tags.get(a.NetworkAclId!)?.size ? { Tags: tagList(tags.get(a.NetworkAclId!)!) } : {}) }));
  const page = paginate(withTags.filter(predicate), input, DESCRIBE_PAGE_LIMITS, { f: input.Filters, ids });
  return { NetworkAcls: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
