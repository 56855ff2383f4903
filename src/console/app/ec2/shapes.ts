/**
 * EC2's XML answers read into the SDK's shapes (type-only imports: nothing of the SDK is bundled), so
 * the console's code and the server's pure rule functions keep one vocabulary. Only the members the
 * console shows are read; a member the answer leaves out stays undefined, as in the SDK.
 */
import type {
  GroupIdentifier,
  Image,
  Instance,
  InstanceBlockDeviceMapping,
  InstanceNetworkInterface,
  InstanceState,
  InstanceStateChange,
  InstanceStateName,
  InstanceStatus,
  InstanceTypeInfo,
  KeyPairInfo,
  Tag,
} from '@aws-sdk/client-ec2';
import { type XmlElement, at, child, items, text } from './xml.js';

const num = (s: string | undefined): number | undefined => (s === undefined || s === '' ? undefined : Number(s));
const bool = (s: string | undefined): boolean | undefined => (s === undefined || s === '' ? undefined : s === 'true');
const date = (s: string | undefined): Date | undefined => (s ? new Date(s) : undefined);
/** EC2 sends some absent strings as empty elements (`<dnsName/>`): the console treats them as absent. */
const str = (s: string | undefined): string | undefined => (s === '' ? undefined : s);
const strings = (el: XmlElement | undefined, ...path: string[]): string[] => items(el, ...path).map((i) => i.text);
const numbers = (el: XmlElement | undefined, ...path: string[]): number[] => items(el, ...path).map((i) => Number(i.text));

/** Elements of a DescribeInstances answer that the list of instances never shows: read past, not built. */
export const LIST_SKIPS: ReadonlySet<string> = new Set([
  'blockDeviceMapping',
  'networkInterfaceSet',
  'metadataOptions',
  'privateDnsNameOptions',
  'capacityReservationSpecification',
  'enclaveOptions',
  'maintenanceOptions',
  'productCodes',
]);

export function toState(el: XmlElement | undefined): InstanceState | undefined {
  if (!el) return undefined;
  return { Code: num(text(el, 'code')), Name: text(el, 'name') as InstanceStateName };
}

export const toTags = (el: XmlElement | undefined): Tag[] =>
  items(el, 'tagSet').map((t) => ({ Key: text(t, 'key') ?? '', Value: text(t, 'value') ?? '' }));

const toGroups = (el: XmlElement | undefined): GroupIdentifier[] =>
  items(el, 'groupSet').map((g) => ({ GroupId: text(g, 'groupId'), GroupName: text(g, 'groupName') }));

function toNetworkInterface(el: XmlElement): InstanceNetworkInterface {
  const attachment = child(el, 'attachment');
  const association = child(el, 'association');
  return {
    NetworkInterfaceId: text(el, 'networkInterfaceId'),
    MacAddress: str(text(el, 'macAddress')),
    PrivateIpAddress: str(text(el, 'privateIpAddress')),
    PrivateDnsName: str(text(el, 'privateDnsName')),
    SubnetId: str(text(el, 'subnetId')),
    VpcId: str(text(el, 'vpcId')),
    Status: str(text(el, 'status')) as InstanceNetworkInterface['Status'],
    SourceDestCheck: bool(text(el, 'sourceDestCheck')),
    Groups: toGroups(el),
    ...(association ? { Association: { PublicIp: str(text(association, 'publicIp')), PublicDnsName: str(text(association, 'publicDnsName')) } } : {}),
    ...(attachment
      ? {
          Attachment: {
            DeviceIndex: num(text(attachment, 'deviceIndex')),
            AttachmentId: str(text(attachment, 'attachmentId')),
            DeleteOnTermination: bool(text(attachment, 'deleteOnTermination')),
          },
        }
      : {}),
  };
}

function toBlockDevice(el: XmlElement): InstanceBlockDeviceMapping {
  const ebs = child(el, 'ebs');
  return {
    DeviceName: text(el, 'deviceName'),
    ...(ebs
      ? {
          Ebs: {
            VolumeId: text(ebs, 'volumeId'),
            Status: text(ebs, 'status') as 'attached',
            AttachTime: date(text(ebs, 'attachTime')),
            DeleteOnTermination: bool(text(ebs, 'deleteOnTermination')),
          },
        }
      : {}),
  };
}

/** One `instancesSet` item. */
export function toInstance(el: XmlElement): Instance {
  const cpu = child(el, 'cpuOptions');
  const reason = child(el, 'stateReason');
  const hibernation = child(el, 'hibernationOptions');
  const enis = child(el, 'networkInterfaceSet');
  const blockDevices = child(el, 'blockDeviceMapping');
  return {
    InstanceId: text(el, 'instanceId'),
    ImageId: text(el, 'imageId'),
    State: toState(child(el, 'instanceState')),
    InstanceType: text(el, 'instanceType') as Instance['InstanceType'],
    LaunchTime: date(text(el, 'launchTime')),
    Placement: { AvailabilityZone: text(el, 'placement', 'availabilityZone'), Tenancy: text(el, 'placement', 'tenancy') as 'default' },
    Platform: str(text(el, 'platform')) as Instance['Platform'],
    PlatformDetails: str(text(el, 'platformDetails')),
    Architecture: text(el, 'architecture') as Instance['Architecture'],
    KeyName: str(text(el, 'keyName')),
    PrivateIpAddress: str(text(el, 'privateIpAddress')),
    PrivateDnsName: str(text(el, 'privateDnsName')),
    PublicIpAddress: str(text(el, 'ipAddress')),
    PublicDnsName: str(text(el, 'dnsName')),
    VpcId: str(text(el, 'vpcId')),
    SubnetId: str(text(el, 'subnetId')),
    SecurityGroups: toGroups(el),
    StateTransitionReason: str(text(el, 'reason')),
    ...(reason ? { StateReason: { Code: text(reason, 'code'), Message: text(reason, 'message') } } : {}),
    Tags: toTags(el),
    ...(cpu
      ? {
          CpuOptions: {
            CoreCount: num(text(cpu, 'coreCount')),
            ThreadsPerCore: num(text(cpu, 'threadsPerCore')),
            ...(child(cpu, 'nestedVirtualization') ? { NestedVirtualization: text(cpu, 'nestedVirtualization') as 'enabled' } : {}),
          },
        }
      : {}),
    ...(hibernation ? { HibernationOptions: { Configured: bool(text(hibernation, 'configured')) } } : {}),
    ...(enis ? { NetworkInterfaces: items(enis).map(toNetworkInterface) } : {}),
    RootDeviceName: str(text(el, 'rootDeviceName')),
    RootDeviceType: str(text(el, 'rootDeviceType')) as Instance['RootDeviceType'],
    ...(blockDevices ? { BlockDeviceMappings: items(blockDevices).map(toBlockDevice) } : {}),
  };
}

/** Every instance of a DescribeInstances (or RunInstances) answer, in the answer's order. */
export function instancesOf(root: XmlElement): Instance[] {
  const reservations = child(root, 'reservationSet');
  if (!reservations) return items(root, 'instancesSet').map(toInstance);
  const out: Instance[] = [];
  for (const r of items(reservations)) for (const i of items(r, 'instancesSet')) out.push(toInstance(i));
  return out;
}

export function toStateChange(el: XmlElement): InstanceStateChange {
  return {
    InstanceId: text(el, 'instanceId'),
    CurrentState: toState(child(el, 'currentState')),
    PreviousState: toState(child(el, 'previousState')),
  };
}

export function toInstanceStatus(el: XmlElement): InstanceStatus {
  return {
    InstanceId: text(el, 'instanceId'),
    AvailabilityZone: text(el, 'availabilityZone'),
    InstanceState: toState(child(el, 'instanceState')),
    InstanceStatus: { Status: text(el, 'instanceStatus', 'status') as 'ok' },
    SystemStatus: { Status: text(el, 'systemStatus', 'status') as 'ok' },
    ...(child(el, 'attachedEbsStatus') ? { AttachedEbsStatus: { Status: text(el, 'attachedEbsStatus', 'status') as 'ok' } } : {}),
  };
}

export function toInstanceTypeInfo(el: XmlElement): InstanceTypeInfo {
  const cpu = child(el, 'vCpuInfo');
  const processor = child(el, 'processorInfo');
  return {
    InstanceType: text(el, 'instanceType') as InstanceTypeInfo['InstanceType'],
    CurrentGeneration: bool(text(el, 'currentGeneration')),
    BareMetal: bool(text(el, 'bareMetal')),
    HibernationSupported: bool(text(el, 'hibernationSupported')),
    ProcessorInfo: {
      SupportedArchitectures: strings(processor, 'supportedArchitectures') as ('x86_64' | 'arm64')[],
      SupportedFeatures: strings(processor, 'supportedFeatures') as 'nested-virtualization'[],
      Manufacturer: text(processor, 'manufacturer'),
      SustainedClockSpeedInGhz: num(text(processor, 'sustainedClockSpeedInGhz')),
    },
    VCpuInfo: {
      DefaultVCpus: num(text(cpu, 'defaultVCpus')),
      DefaultCores: num(text(cpu, 'defaultCores')),
      DefaultThreadsPerCore: num(text(cpu, 'defaultThreadsPerCore')),
      ...(at(cpu, 'validCores') ? { ValidCores: numbers(cpu, 'validCores') } : {}),
      ...(at(cpu, 'validThreadsPerCore') ? { ValidThreadsPerCore: numbers(cpu, 'validThreadsPerCore') } : {}),
    },
    MemoryInfo: { SizeInMiB: num(text(el, 'memoryInfo', 'sizeInMiB')) },
    NetworkInfo: { NetworkPerformance: text(el, 'networkInfo', 'networkPerformance') },
  };
}

export function toImage(el: XmlElement): Image {
  return {
    ImageId: text(el, 'imageId'),
    Name: text(el, 'name'),
    Description: str(text(el, 'description')),
    Architecture: text(el, 'architecture') as Image['Architecture'],
    Platform: str(text(el, 'platform')) as Image['Platform'],
    PlatformDetails: str(text(el, 'platformDetails')),
  };
}

export function toKeyPair(el: XmlElement): KeyPairInfo {
  return {
    KeyPairId: text(el, 'keyPairId'),
    KeyName: text(el, 'keyName'),
    KeyType: text(el, 'keyType') as KeyPairInfo['KeyType'],
    KeyFingerprint: text(el, 'keyFingerprint'),
  };
}
