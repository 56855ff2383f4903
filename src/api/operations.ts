/**
 * The operations nestbox implements, each with its SDK input and output types. The HTTP layer looks
 * handlers up here; an EC2 action that is not listed is answered as not implemented, naming it.
 */
import { describeAccountAttributes } from './account.js';
import { allocateAddress, associateAddress, describeAddresses, describeAddressesAttribute, disassociateAddress, releaseAddress } from './elastic-ips.js';
import type { Handler } from './context.js';
import { describeInstanceCreditSpecifications, modifyInstanceCreditSpecification } from './credit-specifications.js';
import { createFleet, deleteFleets, describeFleetInstances, describeFleets } from './fleets.js';
import { allocateHosts, describeHosts, modifyHosts, modifyInstancePlacement, releaseHosts } from './hosts.js';
import { describeImages } from './images.js';
import { copyImage, createImage, deregisterImage, describeImageAttribute, modifyImageAttribute, registerImage, resetImageAttribute } from './user-images.js';
import { describeInstanceAttribute, modifyInstanceAttribute } from './instance-attributes.js';
import { modifyInstanceMetadataOptions, monitorInstances, unmonitorInstances } from './instance-options.js';
import { describeInstanceTypes } from './instance-types.js';
import {
  describeInstanceStatus,
  describeInstances,
  getConsoleOutput,
  modifyInstanceCpuOptions,
  rebootInstances,
  runInstances,
  startInstances,
  stopInstances,
  terminateInstances,
} from './instances.js';
import {
  createLaunchTemplate,
  createLaunchTemplateVersion,
  deleteLaunchTemplate,
  deleteLaunchTemplateVersions,
  describeLaunchTemplateVersions,
  describeLaunchTemplates,
  getLaunchTemplateData,
  modifyLaunchTemplate,
} from './launch-templates.js';
import { createKeyPair, deleteKeyPair, describeKeyPairs, importKeyPair } from './key-pairs.js';
import { authorizeSecurityGroupEgress, authorizeSecurityGroupIngress, createSecurityGroup, deleteSecurityGroup, describeSecurityGroupRules, describeSecurityGroups, modifySecurityGroupRules, revokeSecurityGroupEgress, revokeSecurityGroupIngress, updateSecurityGroupRuleDescriptionsEgress, updateSecurityGroupRuleDescriptionsIngress } from './security-groups.js';
import { getPasswordData } from './password-data.js';
import { describeNetworkAcls } from './network-acls.js';
import {
  assignPrivateIpAddresses,
  attachNetworkInterface,
  createNetworkInterface,
  deleteNetworkInterface,
  describeNetworkInterfaceAttribute,
  describeNetworkInterfaces,
  detachNetworkInterface,
  modifyNetworkInterfaceAttribute,
  unassignPrivateIpAddresses,
} from './network-interfaces.js';
import { attachInternetGateway, createInternetGateway, deleteInternetGateway, describeInternetGateways, detachInternetGateway } from './internet-gateways.js';
import { associateRouteTable, createRoute, createRouteTable, deleteRoute, deleteRouteTable, describeRouteTables, disassociateRouteTable, replaceRoute } from './route-tables.js';
import { createSubnet, createVpc, deleteSubnet, deleteVpc, describeSubnets, describeVpcAttribute, describeVpcs, modifySubnetAttribute, modifyVpcAttribute } from './vpcs.js';
import { describeAvailabilityZones, describeInstanceTypeOfferings, describeRegions } from './regions.js';
import { createTags, deleteTags, describeTags } from './tags.js';
import { copySnapshot, createSnapshot, deleteSnapshot, describeSnapshots } from './snapshots.js';
import {
  attachVolume,
  createVolume,
  deleteVolume,
  describeVolumeStatus,
  describeVolumes,
  describeVolumesModifications,
  detachVolume,
  modifyVolume,
} from './volumes.js';

// Each handler keeps its precise types where it is defined; the registry only needs to call them.
// biome-ignore lint/suspicious/noExplicitAny: the registry is heterogeneous by nature
type AnyHandler = Handler<any, unknown>;

export const OPERATIONS: Readonly<Record<string, AnyHandler>> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  DescribeInstanceStatus: describeInstanceStatus,
  StartInstances: startInstances,
  StopInstances: stopInstances,
  RebootInstances: rebootInstances,
  TerminateInstances: terminateInstances,
  ModifyInstanceCpuOptions: modifyInstanceCpuOptions,
  DescribeInstanceAttribute: describeInstanceAttribute,
  ModifyInstanceAttribute: modifyInstanceAttribute,
  ModifyInstanceMetadataOptions: modifyInstanceMetadataOptions,
  MonitorInstances: monitorInstances,
  UnmonitorInstances: unmonitorInstances,
  GetConsoleOutput: getConsoleOutput,
  GetPasswordData: getPasswordData,
  AllocateAddress: allocateAddress,
  AssociateAddress: associateAddress,
  DisassociateAddress: disassociateAddress,
  ReleaseAddress: releaseAddress,
  DescribeAddresses: describeAddresses,
  DescribeAddressesAttribute: describeAddressesAttribute,
  CreateNetworkInterface: createNetworkInterface,
  DeleteNetworkInterface: deleteNetworkInterface,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  AttachNetworkInterface: attachNetworkInterface,
  DetachNetworkInterface: detachNetworkInterface,
  ModifyNetworkInterfaceAttribute: modifyNetworkInterfaceAttribute,
  DescribeNetworkInterfaceAttribute: describeNetworkInterfaceAttribute,
  AssignPrivateIpAddresses: assignPrivateIpAddresses,
  UnassignPrivateIpAddresses: unassignPrivateIpAddresses,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeTags: describeTags,
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeImages: describeImages,
  CreateImage: createImage,
  RegisterImage: registerImage,
  DeregisterImage: deregisterImage,
  CopyImage: copyImage,
  DescribeImageAttribute: describeImageAttribute,
  ModifyImageAttribute: modifyImageAttribute,
  ResetImageAttribute: resetImageAttribute,
  CreateLaunchTemplate: createLaunchTemplate,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
  DescribeLaunchTemplates: describeLaunchTemplates,
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  ModifyLaunchTemplate: modifyLaunchTemplate,
  DeleteLaunchTemplate: deleteLaunchTemplate,
  DeleteLaunchTemplateVersions: deleteLaunchTemplateVersions,
  GetLaunchTemplateData: getLaunchTemplateData,
  CreateKeyPair: createKeyPair,
  ImportKeyPair: importKeyPair,
  DescribeKeyPairs: describeKeyPairs,
  DeleteKeyPair: deleteKeyPair,
  DescribeRegions: describeRegions,
  DescribeAvailabilityZones: describeAvailabilityZones,
  DescribeInstanceTypeOfferings: describeInstanceTypeOfferings,
  DescribeAccountAttributes: describeAccountAttributes,
  DescribeInstanceCreditSpecifications: describeInstanceCreditSpecifications,
  ModifyInstanceCreditSpecification: modifyInstanceCreditSpecification,
  DescribeVolumes: describeVolumes,
  DeleteVolume: deleteVolume,
  CreateVolume: createVolume,
  AttachVolume: attachVolume,
  DetachVolume: detachVolume,
  ModifyVolume: modifyVolume,
  DescribeVolumesModifications: describeVolumesModifications,
  DescribeVolumeStatus: describeVolumeStatus,
  CreateSnapshot: createSnapshot,
  DescribeSnapshots: describeSnapshots,
  DeleteSnapshot: deleteSnapshot,
  CopySnapshot: copySnapshot,
  DescribeVpcs: describeVpcs,
  CreateVpc: createVpc,
  DeleteVpc: deleteVpc,
  ModifyVpcAttribute: modifyVpcAttribute,
  DescribeVpcAttribute: describeVpcAttribute,
  DescribeSubnets: describeSubnets,
  CreateSubnet: createSubnet,
  DeleteSubnet: deleteSubnet,
  ModifySubnetAttribute: modifySubnetAttribute,
  DescribeInternetGateways: describeInternetGateways,
  CreateInternetGateway: createInternetGateway,
  DeleteInternetGateway: deleteInternetGateway,
  AttachInternetGateway: attachInternetGateway,
  DetachInternetGateway: detachInternetGateway,
  DescribeRouteTables: describeRouteTables,
  DescribeNetworkAcls: describeNetworkAcls,
  CreateRouteTable: createRouteTable,
  DeleteRouteTable: deleteRouteTable,
  CreateRoute: createRoute,
  ReplaceRoute: replaceRoute,
  DeleteRoute: deleteRoute,
  AssociateRouteTable: associateRouteTable,
  DisassociateRouteTable: disassociateRouteTable,
  DescribeSecurityGroups: describeSecurityGroups,
  CreateSecurityGroup: createSecurityGroup,
  DeleteSecurityGroup: deleteSecurityGroup,
  AuthorizeSecurityGroupIngress: authorizeSecurityGroupIngress,
  AuthorizeSecurityGroupEgress: authorizeSecurityGroupEgress,
  RevokeSecurityGroupIngress: revokeSecurityGroupIngress,
  RevokeSecurityGroupEgress: revokeSecurityGroupEgress,
  DescribeSecurityGroupRules: describeSecurityGroupRules,
  ModifySecurityGroupRules: modifySecurityGroupRules,
  UpdateSecurityGroupRuleDescriptionsIngress: updateSecurityGroupRuleDescriptionsIngress,
  UpdateSecurityGroupRuleDescriptionsEgress: updateSecurityGroupRuleDescriptionsEgress,
  AllocateHosts: allocateHosts,
  DescribeHosts: describeHosts,
  ModifyHosts: modifyHosts,
  ReleaseHosts: releaseHosts,
  ModifyInstancePlacement: modifyInstancePlacement,
  CreateFleet: createFleet,
  DescribeFleets: describeFleets,
  DeleteFleets: deleteFleets,
  DescribeFleetInstances: describeFleetInstances,
};
