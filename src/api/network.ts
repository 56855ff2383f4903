/** The default VPC and its subnets: fixed per region and zone, so IDs are stable across restarts. */
import { createHash } from 'node:crypto';

const hex17 = (seed: string) => createHash('sha256').update(seed).digest('hex').slice(0, 17);

export interface DefaultNetwork {
  readonly vpcId: string;
  readonly subnetId: string;
}

const networks = new Map<string, DefaultNetwork>();

export function defaultNetwork(region: string, zone: string): DefaultNetwork {
  const key = `${region}/${zone}`;
  let net = networks.get(key);
  if (!net) {
    net = { vpcId: `vpc-${hex17(`vpc/${region}`)}`, subnetId: `subnet-${hex17(`subnet/${zone}`)}` };
    networks.set(key, net);
  }
  return net;
}
