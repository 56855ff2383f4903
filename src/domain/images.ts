/**
 * The built-in machine images. IDs are fixed so scripts and templates can name them across restarts.
 * `bootable` images are what the qemu driver can really boot; the others run on the simulated driver.
 */
import type { Image } from '@aws-sdk/client-ec2';

export interface ImageFacts {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly architecture: 'x86_64' | 'arm64';
  readonly platform: 'linux' | 'windows';
  readonly creationDate: string;
  /** the qemu driver boots it for real (the image `nestbox images build` makes); others are simulated */
  readonly bootable: boolean;
  /**
   * `v2.0`: instances launched from it get IMDSv2 only (HttpTokens `required`, hop limit 2) unless the
   * launch says otherwise, as EC2 does for such AMIs; absent: IMDSv1 allowed (`optional`, hop limit 1).
   */
  readonly imdsSupport?: 'v2.0' | undefined;
  /**
   * Which built image a real VM boots (the qemu driver's `VmSpec.imageVariant`): `base` is the minimal
   * Debian image with l2-smoke, `cloud-init` the Debian image whose cloud-init configures the instance
   * from the instance metadata service. Absent on images nestbox only simulates.
   */
  readonly variant?: ImageVariant | undefined;
}

export type ImageVariant = 'base' | 'cloud-init';

export const IMAGES: readonly ImageFacts[] = [
  {
    id: 'ami-0b5e4a1f2c3d40001',
    name: 'nestbox/debian-12-amd64-kvm',
    description: 'Debian 12 (bookworm) x86_64 with KVM modules and the l2-smoke program, built by nestbox',
    architecture: 'x86_64',
    platform: 'linux',
    creationDate: '2026-02-16T00:00:00.000Z',
    bootable: true,
    imdsSupport: 'v2.0',
    variant: 'base',
  },
  {
    id: 'ami-0b5e4a1f2c3d40002',
    name: 'nestbox/debian-12-arm64',
    description: 'Debian 12 (bookworm) arm64',
    architecture: 'arm64',
    platform: 'linux',
    creationDate: '2026-02-16T00:00:00.000Z',
    bootable: false,
    imdsSupport: 'v2.0',
  },
  {
    id: 'ami-0b5e4a1f2c3d40003',
    name: 'Windows_Server-2022-English-Full-Base',
    description: 'Microsoft Windows Server 2022 Full Locale English AMI (simulated: Hyper-V capable when nested virtualization is enabled)',
    architecture: 'x86_64',
    platform: 'windows',
    creationDate: '2026-02-16T00:00:00.000Z',
    bootable: false,
    imdsSupport: 'v2.0',
  },
  {
    id: 'ami-0b5e4a1f2c3d40004',
    name: 'nestbox/debian-12-amd64-cloud-init',
    description:
      'Debian 12 (bookworm) x86_64 with cloud-init, which sets up the instance from the instance metadata service (SSH key, user data, hostname), built by nestbox',
    architecture: 'x86_64',
    platform: 'linux',
    creationDate: '2026-02-16T00:00:00.000Z',
    bootable: true,
    imdsSupport: 'v2.0',
    variant: 'cloud-init',
  },
];

/**
 * The root EBS volume an instance launched from an image gets: device name and size by platform,
 * gp3 at its baseline performance, deleted on termination. DescribeImages shows it; a launch's
 * BlockDeviceMappings may change it (src/domain/block-devices.ts), and what an instance records
 * otherwise falls back to it.
 */
export const ROOT_VOLUME = {
  linux: { device: '/dev/xvda', sizeGiB: 8 },
  windows: { device: '/dev/sda1', sizeGiB: 30 },
  volumeType: 'gp3',
  iops: 3000,
  throughputMiBps: 125,
} as const;

/** The snapshot behind an image's root volume: derived from the image ID, so stable across restarts. */
export const rootSnapshotId = (imageId: string): string => `snap-${imageId.slice(imageId.indexOf('-') + 1)}`;

const byId = new Map(IMAGES.map((i) => [i.id, i]));
export const findImage = (id: string): ImageFacts | undefined => byId.get(id);

/** The SDK-shaped DescribeImages entry. */
export function imageInfo(i: ImageFacts): Image {
  const windows = i.platform === 'windows';
  const root = ROOT_VOLUME[i.platform];
  return {
    ImageId: i.id,
    Name: i.name,
    Description: i.description,
    Architecture: i.architecture,
    ...(windows ? { Platform: 'windows' as Image['Platform'] } : {}),
    PlatformDetails: windows ? 'Windows' : 'Linux/UNIX',
    UsageOperation: windows ? 'RunInstances:0002' : 'RunInstances',
    State: 'available',
    OwnerId: '136693071363',
    ImageOwnerAlias: 'amazon',
    Public: true,
    ImageType: 'machine',
    ImageLocation: `amazon/${i.name}`,
    CreationDate: i.creationDate,
    RootDeviceName: root.device,
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    SriovNetSupport: 'simple',
    BootMode: i.architecture === 'arm64' ? 'uefi' : 'uefi-preferred',
    ...(i.imdsSupport ? { ImdsSupport: i.imdsSupport } : {}),
    BlockDeviceMappings: [
      {
        DeviceName: root.device,
        Ebs: {
          DeleteOnTermination: true,
          SnapshotId: rootSnapshotId(i.id),
          VolumeSize: root.sizeGiB,
          VolumeType: ROOT_VOLUME.volumeType,
          Iops: ROOT_VOLUME.iops,
          Throughput: ROOT_VOLUME.throughputMiBps,
          Encrypted: false,
        },
      },
    ],
  };
}
