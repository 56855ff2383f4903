/** DescribeAccountAttributes: the account's EC2 limits and defaults in the caller's Region. */
import type { AccountAttribute, DescribeAccountAttributesRequest, DescribeAccountAttributesResult } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { defaultNetworkOf } from '../domain/network.js';
import { type Services, quotasOf } from '../services/context.js';
import { type Handler, type RequestContext, checkDryRun } from './context.js';

/** Every attribute EC2 answers, in the order it lists them, with this account's values. */
const ATTRIBUTES: Readonly<Record<string, (ctx: RequestContext, s: Services) => readonly string[]>> = {
  'vpc-max-security-groups-per-interface': () => ['5'],
  // the account's own instance quota (src/accounts.ts)
  'max-instances': (ctx, s) => [String(quotasOf(s, ctx.account).instances)],
  // EC2-Classic is retired: every account is VPC-only.
  'supported-platforms': () => ['VPC'],
  'default-vpc': (ctx) => [defaultNetworkOf(ctx).vpcId],
  'max-elastic-ips': () => ['5'],
  'vpc-max-elastic-ips': () => ['5'],
};

const NAMES = Object.keys(ATTRIBUTES);

export const describeAccountAttributes: Handler<DescribeAccountAttributesRequest, DescribeAccountAttributesResult> = (
  input,
  ctx,
  s,
) => {
  const asked: string[] = [...new Set<string>(input.AttributeNames ?? [])];
  for (const name of asked) if (!Object.hasOwn(ATTRIBUTES, name)) throw Errors.invalidAccountAttribute(name, NAMES);
  checkDryRun(input);
  const names = asked.length > 0 ? asked : NAMES;
  const attributes: AccountAttribute[] = names.map((name) => ({
    AttributeName: name,
    AttributeValues: ATTRIBUTES[name]!(ctx, s).map((AttributeValue) => ({ AttributeValue })),
  }));
  return { AccountAttributes: attributes };
};
