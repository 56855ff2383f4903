/** DescribeInstanceTypes over the catalog profile nestbox runs with: every EC2 type, with EC2's filters. */
import type { DescribeInstanceTypesRequest, DescribeInstanceTypesResult, InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import type { InstanceTypeFacts } from '../domain/instance-types.js';
import { paginate } from '../domain/paging.js';
import { type Handler, checkDryRun } from './context.js';

const typeFilters: FilterTable<InstanceTypeInfo> = {
  fields: {
    'instance-type': (t) => t.InstanceType,
    'processor-info.supported-features': (t) => t.ProcessorInfo?.SupportedFeatures ?? [],
    'processor-info.supported-architecture': (t) => t.ProcessorInfo?.SupportedArchitectures ?? [],
    'processor-info.manufacturer': (t) => t.ProcessorInfo?.Manufacturer,
    'processor-info.sustained-clock-speed-in-ghz': (t) => t.ProcessorInfo?.SustainedClockSpeedInGhz,
    'bare-metal': (t) => t.BareMetal,
    'current-generation': (t) => t.CurrentGeneration,
    'free-tier-eligible': (t) => t.FreeTierEligible,
    'hibernation-supported': (t) => t.HibernationSupported,
    'burstable-performance-supported': (t) => t.BurstablePerformanceSupported,
    'dedicated-hosts-supported': (t) => t.DedicatedHostsSupported,
    'auto-recovery-supported': (t) => t.AutoRecoverySupported,
    'instance-storage-supported': (t) => t.InstanceStorageSupported,
    hypervisor: (t) => t.Hypervisor,
    'supported-usage-class': (t) => t.SupportedUsageClasses ?? [],
    'supported-root-device-type': (t) => t.SupportedRootDeviceTypes ?? [],
    'supported-virtualization-type': (t) => t.SupportedVirtualizationTypes ?? [],
    'supported-boot-mode': (t) => t.SupportedBootModes ?? [],
    'vcpu-info.default-vcpus': (t) => t.VCpuInfo?.DefaultVCpus,
    'vcpu-info.default-cores': (t) => t.VCpuInfo?.DefaultCores,
    'vcpu-info.default-threads-per-core': (t) => t.VCpuInfo?.DefaultThreadsPerCore,
    'vcpu-info.valid-cores': (t) => t.VCpuInfo?.ValidCores ?? [],
    'vcpu-info.valid-threads-per-core': (t) => t.VCpuInfo?.ValidThreadsPerCore ?? [],
    'memory-info.size-in-mib': (t) => t.MemoryInfo?.SizeInMiB,
    'network-info.network-performance': (t) => t.NetworkInfo?.NetworkPerformance,
    'network-info.ena-support': (t) => t.NetworkInfo?.EnaSupport,
    'network-info.ipv6-supported': (t) => t.NetworkInfo?.Ipv6Supported,
    'network-info.bandwidth-weightings': (t) => t.NetworkInfo?.BandwidthWeightings ?? [],
    'network-info.efa-info.maximum-efa-interfaces': (t) => t.NetworkInfo?.EfaInfo?.MaximumEfaInterfaces,
    'network-info.efa-supported': (t) => t.NetworkInfo?.EfaSupported,
    'network-info.flexible-ena-queues-support': (t) => t.NetworkInfo?.FlexibleEnaQueuesSupport,
    'network-info.encryption-in-transit-supported': (t) => t.NetworkInfo?.EncryptionInTransitSupported,
    'network-info.ipv4-addresses-per-interface': (t) => t.NetworkInfo?.Ipv4AddressesPerInterface,
    'network-info.ipv6-addresses-per-interface': (t) => t.NetworkInfo?.Ipv6AddressesPerInterface,
    'network-info.maximum-network-cards': (t) => t.NetworkInfo?.MaximumNetworkCards,
    'network-info.maximum-network-interfaces': (t) => t.NetworkInfo?.MaximumNetworkInterfaces,
    'ebs-info.attachment-limit-type': (t) => t.EbsInfo?.AttachmentLimitType,
    'ebs-info.maximum-ebs-attachments': (t) => t.EbsInfo?.MaximumEbsAttachments,
    'ebs-info.ebs-optimized-info.baseline-bandwidth-in-mbps': (t) => t.EbsInfo?.EbsOptimizedInfo?.BaselineBandwidthInMbps,
    'ebs-info.ebs-optimized-info.baseline-iops': (t) => t.EbsInfo?.EbsOptimizedInfo?.BaselineIops,
    'ebs-info.ebs-optimized-info.baseline-throughput-in-mbps': (t) => t.EbsInfo?.EbsOptimizedInfo?.BaselineThroughputInMBps,
    'ebs-info.ebs-optimized-info.maximum-bandwidth-in-mbps': (t) => t.EbsInfo?.EbsOptimizedInfo?.MaximumBandwidthInMbps,
    'ebs-info.ebs-optimized-info.maximum-iops': (t) => t.EbsInfo?.EbsOptimizedInfo?.MaximumIops,
    'ebs-info.ebs-optimized-info.maximum-throughput-in-mbps': (t) => t.EbsInfo?.EbsOptimizedInfo?.MaximumThroughputInMBps,
    'ebs-info.ebs-optimized-support': (t) => t.EbsInfo?.EbsOptimizedSupport,
    'ebs-info.encryption-support': (t) => t.EbsInfo?.EncryptionSupport,
    'ebs-info.nvme-support': (t) => t.EbsInfo?.NvmeSupport,
    'instance-storage-info.disk.count': (t) => (t.InstanceStorageInfo?.Disks ?? []).map((d) => d.Count),
    'instance-storage-info.disk.size-in-gb': (t) => (t.InstanceStorageInfo?.Disks ?? []).map((d) => d.SizeInGB),
    'instance-storage-info.disk.type': (t) => (t.InstanceStorageInfo?.Disks ?? []).map((d) => d.Type),
    'instance-storage-info.encryption-support': (t) => t.InstanceStorageInfo?.EncryptionSupport,
    'instance-storage-info.nvme-support': (t) => t.InstanceStorageInfo?.NvmeSupport,
    'instance-storage-info.total-size-in-gb': (t) => t.InstanceStorageInfo?.TotalSizeInGB,
    'nitro-enclaves-support': (t) => t.NitroEnclavesSupport,
    'nitro-tpm-support': (t) => t.NitroTpmSupport,
    'nitro-tpm-info.supported-versions': (t) => t.NitroTpmInfo?.SupportedVersions ?? [],
    'reboot-migration-support': (t) => t.RebootMigrationSupport,
  },
};

export const describeInstanceTypes: Handler<DescribeInstanceTypesRequest, DescribeInstanceTypesResult> = (input, _ctx, s) => {
  const names = [...new Set(input.InstanceTypes ?? [])];
  const unknown = names.filter((n) => !s.catalog.facts(n));
  if (unknown.length > 0) throw Errors.invalidInstanceTypes(unknown);
  const predicate = compileFilters(typeFilters, input.Filters);
  checkDryRun(input);
  const facts: readonly InstanceTypeFacts[] = names.length > 0 ? names.map((n) => s.catalog.facts(n)!) : s.catalog.types;
  const matching = facts.map((f) => s.catalog.info(f.type)!).filter(predicate);
  // EC2 answers at most 100 types a page, with or without MaxResults.
  const page = paginate(
    matching,
    { MaxResults: input.MaxResults ?? 100, NextToken: input.NextToken },
    { min: 5, max: 100 },
    { f: input.Filters, names, p: s.catalog.profile },
  );
  return { InstanceTypes: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};
