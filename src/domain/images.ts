/**
 * The built-in machine images. IDs are fixed so scripts and templates can name them across restarts.
 * `bootable` images are what the qemu driver can really boot; the others run on the simulated driver.
 *
 * Besides nestbox's own four images (ami-0b5e4a1f2c3d4000[1-4]), the table holds the public images real
 * configurations look up by owner and name (`aws_ami` with `most_recent`, Packer's `source_ami_filter`,
 * `describe-images --owners … --filters Name=name,Values=…`), each in two dated versions so that
 * `most_recent` has something to choose. Their names, owners, descriptions and fields follow what EC2
 * answers for the real images. Sources:
 * - Amazon Linux 2023: moto's latest_amis/us-east-1.json.gz (owner 137112412989, names
 *   `al2023-ami-2023.N.YYYYMMDD.N-kernel-6.1-x86_64` and `al2023-ami-minimal-…`, descriptions
 *   "Amazon Linux 2023 AMI … x86_64 HVM kernel-6.1" / "… x86_64 Minimal HVM kernel-6.1"); real
 *   describe-images output quoted in public repositories: ImageOwnerAlias `amazon`, /dev/xvda 8 GiB gp3
 *   3000/125, BootMode `uefi-preferred`, ImdsSupport `v2.0`, DeprecationTime 90 days after CreationDate.
 * - Ubuntu (Canonical, 099720109477): real describe-images output quoted in public repositories:
 *   names `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-YYYYMMDD` and, from 24.04 on,
 *   `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-YYYYMMDD`; ImageOwnerAlias `amazon` and
 *   ImageLocation `amazon/ubuntu/images/…` (Canonical's images carry Amazon's alias); descriptions
 *   "Canonical, Ubuntu, 24.04, amd64 noble image" (2025 on; earlier "… 22.04 LTS, amd64 jammy image
 *   build on YYYY-MM-DD"); ephemeral0/1 on /dev/sdb and /dev/sdc; DeprecationTime two years after
 *   CreationDate; BootMode `uefi-preferred` (amd64).
 * - Debian 12 (136693071363): names `debian-12-amd64-YYYYMMDD-NNNN`, description "Debian 12
 *   (YYYYMMDD-NNNN)", ImageLocation `amazon/debian-12-…` (so ImageOwnerAlias `amazon` as well).
 * - Windows Server (801119661308, alias `amazon`): names `Windows_Server-2022-English-Full-Base-YYYY.MM.DD`,
 *   descriptions "Microsoft Windows Server 2022 Full Locale English AMI provided by Amazon" (moto's
 *   amis.json.gz for the pattern), Platform `windows`, PlatformDetails `Windows`, UsageOperation
 *   `RunInstances:0002`, /dev/sda1 30 GiB.
 * Deviations, kept for consistency with the rest of nestbox: every image's root device and size are its
 * platform's (ROOT_VOLUME below: Ubuntu's real root device is /dev/sda1, AL2023 minimal's is 2 GiB), gp3.
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
  /** the account that publishes it (OwnerId); absent: Debian's, as nestbox's own Debian-built images show */
  readonly ownerId?: string | undefined;
  /** DescribeImages' BootMode; absent: `uefi` on arm64, `uefi-preferred` on x86_64 */
  readonly bootMode?: 'uefi' | 'uefi-preferred' | 'legacy-bios' | undefined;
  readonly tpmSupport?: 'v2.0' | undefined;
  /** when EC2 deprecates it (shown only: nestbox lists its fixed table whatever the date) */
  readonly deprecationTime?: string | undefined;
  /** instance store mappings the image lists (`/dev/sdb` → ephemeral0, …), as Canonical's do */
  readonly ephemeralDevices?: readonly string[] | undefined;
}

/** The publishers' accounts. Each of them shows the alias `amazon` (ImageOwnerAlias) on EC2. */
export const OWNERS = {
  debian: '136693071363',
  canonical: '099720109477',
  amazonLinux: '137112412989',
  amazonWindows: '801119661308',
} as const;

/** Every built-in image is public and carries this alias (`--owners amazon`, `owner-alias` filter). */
export const IMAGE_OWNER_ALIAS = 'amazon';

export type ImageVariant = 'base' | 'cloud-init';

/** What the Description of an image nestbox only simulates says, after EC2's own words. */
const SIMULATED = ' (simulated by nestbox: no operating system boots)';

const plus = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();
const DAY_MS = 86_400_000;
/** EC2 rounds a deprecation time to the minute. */
const toMinute = (iso: string) => `${iso.slice(0, 16)}:00.000Z`;
const plusYears = (iso: string, years: number) => `${Number(iso.slice(0, 4)) + years}${iso.slice(4)}`;

/**
 * Debian 12 (bookworm) from Debian's cloud team, amd64 and arm64 of one build. The amd64 image boots for
 * real under the qemu driver: it is nestbox's own Debian 12 image (the variant ami-0b5e4a1f2c3d40001 boots).
 */
function debian12(amd64Id: string, arm64Id: string, build: string, creationDate: string): ImageFacts[] {
  return [
    {
      id: amd64Id,
      name: `debian-12-amd64-${build}`,
      description: `Debian 12 (${build}) (nestbox: boots nestbox's Debian 12 image under the qemu driver, simulated otherwise)`,
      architecture: 'x86_64',
      platform: 'linux',
      creationDate,
      bootable: true,
      variant: 'base',
      ownerId: OWNERS.debian,
    },
    {
      id: arm64Id,
      name: `debian-12-arm64-${build}`,
      description: `Debian 12 (${build})${SIMULATED}`,
      architecture: 'arm64',
      platform: 'linux',
      creationDate,
      bootable: false,
      ownerId: OWNERS.debian,
    },
  ];
}

/** Canonical's Ubuntu Server LTS for amd64; 24.04 is published under `hvm-ssd-gp3`, 22.04 under `hvm-ssd`. */
function ubuntu(id: string, release: '22.04' | '24.04', serial: string, creationDate: string): ImageFacts {
  const [codename, storage] = release === '22.04' ? ['jammy', 'hvm-ssd'] : ['noble', 'hvm-ssd-gp3'];
  return {
    id,
    name: `ubuntu/images/${storage}/ubuntu-${codename}-${release}-amd64-server-${serial}`,
    description: `Canonical, Ubuntu, ${release}, amd64 ${codename} image${SIMULATED}`,
    architecture: 'x86_64',
    platform: 'linux',
    creationDate,
    bootable: false,
    ownerId: OWNERS.canonical,
    deprecationTime: plusYears(creationDate, 2),
    ephemeralDevices: ['/dev/sdb', '/dev/sdc'],
  };
}

/** Amazon Linux 2023, standard or minimal, kernel 6.1, x86_64. */
function al2023(id: string, minimal: boolean, version: string, creationDate: string): ImageFacts {
  return {
    id,
    name: `al2023-ami-${minimal ? 'minimal-' : ''}${version}-kernel-6.1-x86_64`,
    description: `Amazon Linux 2023 AMI ${version} x86_64 ${minimal ? 'Minimal ' : ''}HVM kernel-6.1${SIMULATED}`,
    architecture: 'x86_64',
    platform: 'linux',
    creationDate,
    bootable: false,
    imdsSupport: 'v2.0',
    ownerId: OWNERS.amazonLinux,
    deprecationTime: toMinute(plus(creationDate, 90 * DAY_MS)),
  };
}

/** Amazon's Windows Server Full Base, English. */
function windowsServer(id: string, version: '2022' | '2025', release: string, creationDate: string): ImageFacts {
  return {
    id,
    name: `Windows_Server-${version}-English-Full-Base-${release}`,
    description: `Microsoft Windows Server ${version} Full Locale English AMI provided by Amazon${SIMULATED}`,
    architecture: 'x86_64',
    platform: 'windows',
    creationDate,
    bootable: false,
    imdsSupport: 'v2.0',
    ownerId: OWNERS.amazonWindows,
  };
}

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
    ownerId: OWNERS.amazonWindows,
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
  // --- the public images configurations look up (see the sources at the top) ------------------------
  ...debian12('ami-0b5e4a1f2c3d41201', 'ami-0b5e4a1f2c3d41211', '20260914-2236', '2026-09-14T19:47:31.000Z'),
  ...debian12('ami-0b5e4a1f2c3d41202', 'ami-0b5e4a1f2c3d41212', '20261110-2294', '2026-11-10T20:05:12.000Z'),
  ubuntu('ami-0b5e4a1f2c3d42201', '22.04', '20260918', '2026-09-18T09:14:55.000Z'),
  ubuntu('ami-0b5e4a1f2c3d42202', '22.04', '20261106', '2026-11-06T07:41:08.000Z'),
  ubuntu('ami-0b5e4a1f2c3d42401', '24.04', '20260918', '2026-09-18T10:02:37.000Z'),
  ubuntu('ami-0b5e4a1f2c3d42402', '24.04', '20261106', '2026-11-06T08:26:19.000Z'),
  al2023('ami-0b5e4a1f2c3d42301', false, '2023.11.20260915.0', '2026-09-15T22:18:46.000Z'),
  al2023('ami-0b5e4a1f2c3d42302', false, '2023.11.20261110.0', '2026-11-10T21:40:03.000Z'),
  al2023('ami-0b5e4a1f2c3d42311', true, '2023.11.20260915.0', '2026-09-15T22:18:51.000Z'),
  al2023('ami-0b5e4a1f2c3d42312', true, '2023.11.20261110.0', '2026-11-10T21:40:09.000Z'),
  windowsServer('ami-0b5e4a1f2c3d43201', '2022', '2026.10.15', '2026-10-15T07:12:40.000Z'),
  windowsServer('ami-0b5e4a1f2c3d43202', '2022', '2026.11.12', '2026-11-12T06:58:21.000Z'),
  windowsServer('ami-0b5e4a1f2c3d43251', '2025', '2026.10.15', '2026-10-15T07:31:02.000Z'),
  windowsServer('ami-0b5e4a1f2c3d43252', '2025', '2026.11.12', '2026-11-12T07:19:44.000Z'),
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
    OwnerId: i.ownerId ?? OWNERS.debian,
    ImageOwnerAlias: IMAGE_OWNER_ALIAS,
    Public: true,
    ImageType: 'machine',
    ImageLocation: `${IMAGE_OWNER_ALIAS}/${i.name}`,
    CreationDate: i.creationDate,
    RootDeviceName: root.device,
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    SriovNetSupport: 'simple',
    BootMode: i.bootMode ?? (i.architecture === 'arm64' ? 'uefi' : 'uefi-preferred'),
    ...(i.tpmSupport ? { TpmSupport: i.tpmSupport } : {}),
    ...(i.imdsSupport ? { ImdsSupport: i.imdsSupport } : {}),
    ...(i.deprecationTime ? { DeprecationTime: i.deprecationTime } : {}),
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
      ...(i.ephemeralDevices ?? []).map((DeviceName, n) => ({ DeviceName, VirtualName: `ephemeral${n}` })),
    ],
  };
}

// --- user images (CreateImage, RegisterImage, CopyImage) ------------------------------------------------

/**
 * One block device of a user image: an EBS volume made from a snapshot (or empty), an instance store
 * volume, or a device the image suppresses.
 */
export interface ImageBlockDevice {
  readonly device: string;
  readonly ebs?:
    | {
        readonly snapshotId?: string | undefined;
        readonly sizeGiB: number;
        readonly volumeType: 'standard' | 'io1' | 'io2' | 'gp2' | 'sc1' | 'st1' | 'gp3';
        readonly iops?: number | undefined;
        readonly throughputMiBps?: number | undefined;
        readonly deleteOnTermination: boolean;
        readonly encrypted: boolean;
      }
    | undefined;
  readonly virtualName?: string | undefined;
  readonly noDevice?: true | undefined;
}

/**
 * An image of the account's (stored kind `image`): made by CreateImage from an instance, RegisterImage
 * from a root snapshot, or CopyImage. Its state is derived from its snapshots' (pending until all are
 * completed, failed if one failed). Private by default: its launch permission names the accounts it is
 * shared with, or `all` (public).
 */
export interface UserImageRecord {
  /** `ami-` + 17 hex digits */
  readonly id: string;
  readonly account: string;
  readonly region: string;
  /** unique per account and Region (the store's name index) */
  readonly name: string;
  readonly description?: string | undefined;
  readonly architecture: 'x86_64' | 'arm64';
  readonly platform: 'linux' | 'windows';
  readonly creationDate: string;
  readonly rootDeviceName: string;
  readonly blockDevices: readonly ImageBlockDevice[];
  /** whether the qemu driver boots it (its root file system came from a bootable image), and with which built image's kernel */
  readonly bootable: boolean;
  readonly variant?: ImageVariant | undefined;
  readonly bootMode?: 'uefi' | 'uefi-preferred' | 'legacy-bios' | undefined;
  readonly imdsSupport?: 'v2.0' | undefined;
  /** launch permission: public (`all`), and the accounts it is shared with */
  readonly public: boolean;
  readonly launchUsers: readonly string[];
  /** CreateImage: the instance it was made from */
  readonly sourceInstanceId?: string | undefined;
  /** CopyImage: where it was copied from */
  readonly sourceImageId?: string | undefined;
  readonly sourceRegion?: string | undefined;
}

/** The root device of any image: a built-in's (ROOT_VOLUME, its derived snapshot) or a user image's root mapping. */
export interface ImageRoot {
  readonly device: string;
  readonly snapshotId: string;
  readonly sizeGiB: number;
  readonly volumeType: 'standard' | 'io1' | 'io2' | 'gp2' | 'sc1' | 'st1' | 'gp3';
  readonly iops?: number | undefined;
  readonly throughputMiBps?: number | undefined;
  readonly encrypted: boolean;
  readonly deleteOnTermination: boolean;
}

/** What a launch needs of an image beyond ImageFacts: a user image's root and its other block devices. */
export interface UserImageFacts extends ImageFacts {
  readonly user: UserImageRecord;
  readonly root: ImageRoot;
}

export const isUserImage = (i: ImageFacts): i is UserImageFacts => (i as Partial<UserImageFacts>).user !== undefined;

/** A user image's root block device (its mapping of the root device name). */
export function userImageRoot(rec: UserImageRecord): ImageRoot {
  const m = rec.blockDevices.find((b) => b.device === rec.rootDeviceName && b.ebs);
  const ebs = m?.ebs;
  return {
    device: rec.rootDeviceName,
    snapshotId: ebs?.snapshotId ?? '',
    sizeGiB: ebs?.sizeGiB ?? ROOT_VOLUME[rec.platform].sizeGiB,
    volumeType: ebs?.volumeType ?? ROOT_VOLUME.volumeType,
    iops: ebs?.iops,
    throughputMiBps: ebs?.throughputMiBps,
    encrypted: ebs?.encrypted ?? false,
    deleteOnTermination: ebs?.deleteOnTermination ?? true,
  };
}

/** The root device of an image, built-in or user. */
export function imageRoot(i: ImageFacts): ImageRoot {
  if (isUserImage(i)) return i.root;
  return {
    device: ROOT_VOLUME[i.platform].device,
    snapshotId: rootSnapshotId(i.id),
    sizeGiB: ROOT_VOLUME[i.platform].sizeGiB,
    volumeType: ROOT_VOLUME.volumeType,
    iops: ROOT_VOLUME.iops,
    throughputMiBps: ROOT_VOLUME.throughputMiBps,
    encrypted: false,
    deleteOnTermination: true,
  };
}

export function userImageFacts(rec: UserImageRecord): UserImageFacts {
  return {
    id: rec.id,
    name: rec.name,
    description: rec.description ?? '',
    architecture: rec.architecture,
    platform: rec.platform,
    creationDate: rec.creationDate,
    bootable: rec.bootable,
    imdsSupport: rec.imdsSupport,
    variant: rec.variant,
    ownerId: rec.account,
    bootMode: rec.bootMode,
    user: rec,
    root: userImageRoot(rec),
  };
}

/** The image state a user image shows, from its snapshots' states. */
export type UserImageState = 'pending' | 'available' | 'failed';

export function userImageState(snapshotStates: readonly (string | undefined)[]): UserImageState {
  if (snapshotStates.some((s) => s === 'error' || s === undefined)) return 'failed';
  return snapshotStates.every((s) => s === 'completed') ? 'available' : 'pending';
}

/** The SDK-shaped DescribeImages entry of a user image. */
export function userImageInfo(rec: UserImageRecord, state: UserImageState, tags?: Image['Tags']): Image {
  const windows = rec.platform === 'windows';
  return {
    ImageId: rec.id,
    Name: rec.name,
    ...(rec.description !== undefined ? { Description: rec.description } : {}),
    Architecture: rec.architecture,
    ...(windows ? { Platform: 'windows' as Image['Platform'] } : {}),
    PlatformDetails: windows ? 'Windows' : 'Linux/UNIX',
    UsageOperation: windows ? 'RunInstances:0002' : 'RunInstances',
    State: state,
    ...(state === 'failed' ? { StateReason: { Code: 'Client.SnapshotFailed', Message: 'A snapshot of the image failed or is gone' } } : {}),
    OwnerId: rec.account,
    Public: rec.public,
    ImageType: 'machine',
    // EC2: "<owner account>/<name>" for an EBS-backed image of the account's
    ImageLocation: `${rec.account}/${rec.name}`,
    CreationDate: rec.creationDate,
    RootDeviceName: rec.rootDeviceName,
    RootDeviceType: 'ebs',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    EnaSupport: true,
    SriovNetSupport: 'simple',
    ...(rec.bootMode ? { BootMode: rec.bootMode } : {}),
    ...(rec.imdsSupport ? { ImdsSupport: rec.imdsSupport } : {}),
    ...(rec.sourceInstanceId ? { SourceInstanceId: rec.sourceInstanceId } : {}),
    ...(rec.sourceImageId ? { SourceImageId: rec.sourceImageId, SourceImageRegion: rec.sourceRegion } : {}),
    BlockDeviceMappings: rec.blockDevices.map((b) =>
      b.ebs
        ? {
            DeviceName: b.device,
            Ebs: {
              DeleteOnTermination: b.ebs.deleteOnTermination,
              ...(b.ebs.snapshotId ? { SnapshotId: b.ebs.snapshotId } : {}),
              VolumeSize: b.ebs.sizeGiB,
              VolumeType: b.ebs.volumeType,
              ...(b.ebs.iops !== undefined ? { Iops: b.ebs.iops } : {}),
              ...(b.ebs.throughputMiBps !== undefined ? { Throughput: b.ebs.throughputMiBps } : {}),
              Encrypted: b.ebs.encrypted,
            },
          }
        : b.virtualName !== undefined
          ? { DeviceName: b.device, VirtualName: b.virtualName }
          : { DeviceName: b.device, NoDevice: '' },
    ),
    ...(tags && tags.length > 0 ? { Tags: tags } : {}),
  };
}

/**
 * EC2's AMI name rules (CreateImage / RegisterImage API reference): 3 to 128 characters, letters,
 * numbers, parentheses, square brackets, spaces, periods, slashes, dashes, single quotes, at-signs and
 * underscores.
 */
export const AMI_NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;
