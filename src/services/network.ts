/**
 * An instance's place in the default VPC as the API shows it: its VPC, subnet and security group, and
 * its primary network interface (DescribeInstances, its filters, GetLaunchTemplateData, the IMDS).
 */
import type { GroupIdentifier, InstanceNetworkInterface, InstanceNetworkInterfaceAssociation } from '@aws-sdk/client-ec2';
import { type InstanceRecord, networkInterfaceAttachmentId, networkInterfaceId, privateDnsName } from '../domain/instance.js';
import { instanceAttachment, macAddress } from '../domain/network.js';
import { publicDnsName } from '../domain/public-ip.js';

export interface InstanceNetwork {
  readonly vpcId: string;
  readonly subnetId: string;
  /** the subnet's IPv4 block, e.g. `172.31.0.0/20` */
  readonly subnetCidr: string;
  readonly securityGroups: readonly GroupIdentifier[];
}

/** Where an instance is attached (src/domain/network.ts). EC2 shows none of it once the instance is terminated; callers decide that. */
export function instanceNetworkOf(rec: InstanceRecord): InstanceNetwork {
  const a = instanceAttachment(rec);
  return {
    vpcId: a.vpcId,
    subnetId: a.subnetId,
    subnetCidr: a.subnetCidr,
    securityGroups: a.groups.map((g) => ({ GroupId: g.id, GroupName: g.name })),
  };
}

/** An instance's network as DescribeInstances shows it: none once it is terminated. */
export const attachedNetworkOf = (rec: InstanceRecord): InstanceNetwork | undefined =>
  rec.state === 'terminated' ? undefined : instanceNetworkOf(rec);

/**
 * The public address's association as EC2 shows it, when the instance holds one: owner `amazon` for an
 * address from Amazon's pool, the account for its Elastic IP (src/domain/elastic-ip.ts).
 */
export function publicIpAssociation(rec: InstanceRecord): InstanceNetworkInterfaceAssociation | undefined {
  if (rec.publicIp === undefined) return undefined;
  const owner = rec.elasticIp !== undefined ? rec.account : 'amazon';
  return { IpOwnerId: owner, PublicDnsName: publicDnsName(rec.publicIp, rec.region), PublicIp: rec.publicIp };
}

/**
 * The instance's network interfaces as DescribeInstances shows them: its primary interface (device
 * index 0), derived from the instance like its root volume — ID and attachment ID from the instance
 * ID, a MAC address hashed from it, the private address, the default group, and the public address's
 * association while it holds one. It is created with the instance and goes with it (DeleteOnTermination
 * true); none once the instance is terminated.
 */
export function instanceNetworkInterfaces(rec: InstanceRecord): InstanceNetworkInterface[] {
  const net = attachedNetworkOf(rec);
  if (!net) return [];
  const association = publicIpAssociation(rec);
  const dnsName = privateDnsName(rec.privateIpAddress, rec.region);
  // Plain members, `undefined` where absent (no conditional spreads: see toInstance).
  return [
    {
      Association: association,
      Attachment: {
        // EC2 keeps the primary interface's attachment from launch; the record's launch time is the one it has.
        AttachTime: new Date(rec.launchTime),
        AttachmentId: networkInterfaceAttachmentId(rec),
        DeleteOnTermination: true,
        DeviceIndex: 0,
        Status: 'attached',
        NetworkCardIndex: 0,
      },
      Description: '',
      Groups: [...net.securityGroups],
      Ipv6Addresses: [],
      MacAddress: macAddress(rec),
      NetworkInterfaceId: networkInterfaceId(rec),
      OwnerId: rec.account,
      PrivateDnsName: dnsName,
      PrivateIpAddress: rec.privateIpAddress,
      PrivateIpAddresses: [{ Association: association, Primary: true, PrivateDnsName: dnsName, PrivateIpAddress: rec.privateIpAddress }],
      SourceDestCheck: rec.sourceDestCheck ?? true,
      Status: 'in-use',
      SubnetId: net.subnetId,
      VpcId: net.vpcId,
      InterfaceType: 'interface',
    },
  ];
}
