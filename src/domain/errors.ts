/**
 * The one error catalog. Every EC2 error nestbox can answer with is built here: its code, its HTTP
 * status and its message. Handlers throw these; the HTTP layer turns them into the EC2 error envelope.
 * Anything thrown that is not an Ec2Error is answered as InternalError with no internals on the wire.
 */
export class Ec2Error extends Error {
  override readonly name = 'Ec2Error';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const quoteList = (ids: readonly string[]) => ids.map((id) => `'${id}'`).join(', ');
/** EC2 names one missing ID in the singular and several in the plural. */
const notFound = (code: string, noun: string, ids: readonly string[]) =>
  new Ec2Error(
    code,
    ids.length === 1
      ? `The ${noun} ID ${quoteList(ids)} does not exist`
      : `The ${noun} IDs ${quoteList(ids)} do not exist`,
  );

export const Errors = {
  // --- protocol ---------------------------------------------------------------------------------
  invalidAction: (action: string) =>
    new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`),
  missingAction: () => new Ec2Error('MissingAction', 'The request must contain the parameter Action.'),
  notImplemented: (action: string) =>
    new Ec2Error(
      'NotImplemented',
      `The action ${action} is a real EC2 action but nestbox does not implement it yet.`,
      501,
    ),
  invalidVersion: (version: string) =>
    new Ec2Error(
      'NoSuchVersion',
      `The requested version (${version}) of service AmazonEC2 does not exist. Use 2016-11-15.`,
    ),
  unknownParameter: (name: string) => new Ec2Error('UnknownParameter', `The parameter ${name} is not recognized`),
  malformedQueryString: (detail: string) => new Ec2Error('MalformedQueryString', detail),
  missingParameter: (name: string) =>
    new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`),
  invalidParameterValue: (message: string) => new Ec2Error('InvalidParameterValue', message),
  invalidValueFor: (param: string, value: unknown, hint?: string) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Value (${String(value)}) for parameter ${param} is invalid.${hint ? ` ${hint}` : ''}`,
    ),
  invalidParameterCombination: (message: string) => new Ec2Error('InvalidParameterCombination', message),
  invalidParameter: (message: string) => new Ec2Error('InvalidParameter', message),
  requestEntityTooLarge: (limit: number) =>
    new Ec2Error('RequestEntityTooLarge', `The request body exceeds the limit of ${limit} bytes.`, 413),
  invalidNextToken: (token: string) =>
    new Ec2Error('InvalidNextToken', `The token '${token}' is invalid or has expired.`),
  invalidFilter: (name: string) =>
    new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`),
  dryRun: () =>
    new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),
  unauthorizedOperation: () =>
    new Ec2Error('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403),
  internal: () =>
    new Ec2Error('InternalError', 'An internal error has occurred. Retry your request later.', 500),
  idempotentParameterMismatch: (token: string) =>
    new Ec2Error(
      'IdempotentParameterMismatch',
      `The client token '${token}' has already been used with different request parameters.`,
    ),

  // --- authentication ---------------------------------------------------------------------------
  missingAuthenticationToken: () =>
    new Ec2Error('MissingAuthenticationToken', 'Request is missing Authentication Token', 401),
  authFailure: () =>
    new Ec2Error('AuthFailure', 'AWS was not able to validate the provided access credentials', 401),
  /** `detail` replaces the generic text when the signature was refused for a named reason (e.g. a bad scope). */
  signatureDoesNotMatch: (
    detail = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  ) => new Ec2Error('SignatureDoesNotMatch', detail, 403),
  incompleteSignature: (detail: string) => new Ec2Error('IncompleteSignature', detail, 400),
  requestExpired: (detail = 'Request has expired.') => new Ec2Error('RequestExpired', detail, 400),

  // --- instances --------------------------------------------------------------------------------
  instanceIdMalformed: (id: string) => new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`),
  instanceIdNotFound: (ids: readonly string[]) => notFound('InvalidInstanceID.NotFound', 'instance', ids),
  incorrectInstanceState: (id: string, action: string, state: string) =>
    new Ec2Error(
      'IncorrectInstanceState',
      `The instance '${id}' is not in a state from which it can be ${action}. Its current state is '${state}'.`,
    ),
  neverRan: (id: string) =>
    new Ec2Error(
      'IncorrectInstanceState',
      `Instance '${id}' cannot be stopped as it has never reached the 'running' state.`,
    ),
  notInStoppedState: (id: string) =>
    new Ec2Error('IncorrectInstanceState', `The instance '${id}' is not in the 'stopped' state.`),
  /** RunInstances names an unknown type this way (DescribeInstanceTypes uses InvalidInstanceType). */
  invalidInstanceTypeValue: (type: string) =>
    new Ec2Error('InvalidParameterValue', `Invalid value '${type}' for InstanceType.`),
  invalidInstanceTypes: (types: readonly string[]) =>
    new Ec2Error('InvalidInstanceType', `The following supplied instance types do not exist: [${types.join(', ')}]`),
  insufficientCapacity: (type: string, detail?: string) =>
    new Ec2Error(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${type} capacity in the Availability Zone you requested.${detail ? ` ${detail}` : ''}`,
      500,
    ),
  instanceLimitExceeded: (requested: number, limit: number) =>
    new Ec2Error(
      'InstanceLimitExceeded',
      `You have requested more instances (${requested}) than your current instance limit of ${limit} allows.`,
    ),
  invalidAvailabilityZone: (zone: string) =>
    new Ec2Error('InvalidParameterValue', `Invalid availability zone: [${zone}]`),
  invalidAvailabilityZoneId: (id: string) =>
    new Ec2Error('InvalidParameterValue', `Invalid availability zone ID: [${id}]`),
  /** DescribeRegions with a RegionName that is no Region. */
  invalidRegion: (names: readonly string[]) => new Ec2Error('InvalidParameterValue', `Invalid region: [${names.join(', ')}]`),
  invalidAccountAttribute: (name: string, valid: readonly string[]) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Value (${name}) for parameter attributeName is invalid. Valid values: ${valid.join(', ')}.`,
    ),

  // --- CPU options and nested virtualization ------------------------------------------------------
  cpuOptionsNotSupported: (type: string) =>
    new Ec2Error('UnsupportedOperation', `The ${type} instance type does not support specifying CpuOptions.`),
  nestedVirtualizationNotSupported: (type: string) =>
    new Ec2Error('UnsupportedOperation', `The instance type ${type} does not support nested virtualization.`),
  nestedVirtualizationWindowsVcpus: (type: string, vcpus: number) =>
    new Ec2Error(
      'UnsupportedOperation',
      `Nested virtualization is not supported for Windows instances with more than 192 vCPUs (${type} has ${vcpus}).`,
    ),
  nestedVirtualizationHibernation: () =>
    new Ec2Error(
      'UnsupportedHibernationConfiguration',
      'Hibernation is not supported on instances with nested virtualization enabled.',
    ),
  amdSevSnpNotSupported: (type: string) =>
    new Ec2Error('UnsupportedOperation', `The instance type ${type} does not support AMD SEV-SNP.`),
  invalidCoreCount: (type: string, value: number, valid: readonly number[]) =>
    new Ec2Error(
      'InvalidParameterValue',
      `The specified CoreCount (${value}) is not valid for instance type ${type}. Valid core counts: ${valid.join(', ')}.`,
    ),
  invalidThreadsPerCore: (type: string, value: number, valid: readonly number[]) =>
    new Ec2Error(
      'InvalidParameterValue',
      `The specified ThreadsPerCore (${value}) is not valid for instance type ${type}. Valid values: ${valid.join(', ')}.`,
    ),
  hibernationNotSupported: (type: string) =>
    new Ec2Error(
      'UnsupportedHibernationConfiguration',
      `Hibernation is not supported for the ${type} instance type.`,
    ),
  unsupportedHibernationStop: (id: string) =>
    new Ec2Error(
      'UnsupportedHibernationConfiguration',
      `The instance '${id}' is not enabled for hibernation.`,
    ),

  // --- instance attributes ----------------------------------------------------------------------
  /** Stop and termination protection, in EC2's words (stop protection also refuses termination). */
  operationNotPermitted: (id: string, verb: 'stopped' | 'terminated', attribute: 'disableApiTermination' | 'disableApiStop') =>
    new Ec2Error(
      'OperationNotPermitted',
      `The instance '${id}' may not be ${verb}. Modify its '${attribute}' instance attribute and try again.`,
    ),
  unknownInstanceAttribute: (name: string) =>
    new Ec2Error('InvalidParameterValue', `Value (${name}) for parameter attribute is invalid. Unknown attribute.`),
  /** The API reference: "The enaSupport attribute is not supported at this time." */
  instanceAttributeNotDescribable: (name: string) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Value (${name}) for parameter attribute is invalid. The ${name} attribute is not supported at this time.`,
    ),
  instanceAttributeNotModifiable: (name: string) =>
    new Ec2Error('InvalidParameterValue', `Value (${name}) for parameter attribute is invalid. The ${name} attribute cannot be modified.`),
  instanceAttributeNotImplemented: (name: string) =>
    new Ec2Error(
      'NotImplemented',
      `Modifying the instance attribute ${name} is real EC2 behaviour but nestbox does not implement it yet.`,
      501,
    ),
  noAttributesSpecified: () => new Ec2Error('InvalidParameterCombination', 'No attributes specified.'),
  tooManyAttributes: (names: readonly string[]) =>
    new Ec2Error(
      'InvalidParameterCombination',
      `Only one attribute can be modified at a time; the request specifies ${names.join(', ')}.`,
    ),
  /** The API reference: an invalid instance type for ModifyInstanceAttribute is InvalidInstanceAttributeValue. */
  invalidInstanceTypeAttribute: (type: string) =>
    new Ec2Error('InvalidInstanceAttributeValue', `Value (${type}) for parameter instanceType is invalid. Unknown instance type.`),
  instanceTypeChangeNotAllowed: (from: string, to: string, reason: string) =>
    new Ec2Error('InvalidInstanceAttributeValue', `Modifying the instance type from ${from} to ${to} is not allowed. ${reason}`),
  userDataNotBase64: () => new Ec2Error('InvalidParameterValue', 'Invalid BASE64 encoding of user data.'),
  userDataTooLarge: (limit: number) => new Ec2Error('InvalidParameterValue', `User data is limited to ${limit} bytes.`),

  // --- images -----------------------------------------------------------------------------------
  amiIdMalformed: (id: string) => new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`),
  amiIdNotFound: (ids: readonly string[]) =>
    new Ec2Error(
      'InvalidAMIID.NotFound',
      ids.length === 1 ? `The image id '[${ids[0]}]' does not exist` : `The image ids '[${ids.join(', ')}]' do not exist`,
    ),
  /** DescribeImages Owners / ExecutableUsers naming neither an account ID nor an alias EC2 knows. */
  invalidUserIdMalformed: (value: string) => new Ec2Error('InvalidUserID.Malformed', `Invalid user id: "${value}"`),

  // --- volumes ----------------------------------------------------------------------------------
  volumeIdMalformed: (id: string) =>
    new Ec2Error(
      'InvalidVolumeID.Malformed',
      id.startsWith('vol-') ? `Invalid id: "${id}"` : `Invalid id: "${id}" (expecting "vol-...")`,
    ),
  volumeNotFound: (ids: readonly string[]) =>
    new Ec2Error(
      'InvalidVolume.NotFound',
      ids.length === 1 ? `The volume '${ids[0]}' does not exist.` : `The volumes ${quoteList(ids)} do not exist.`,
    ),

  // --- launch templates -------------------------------------------------------------------------
  launchTemplateIdNotFound: (id: string) =>
    new Ec2Error('InvalidLaunchTemplateId.NotFound', `The specified launch template, with template ID ${id}, does not exist.`),
  launchTemplateNameNotFound: (name: string) =>
    new Ec2Error(
      'InvalidLaunchTemplateName.NotFoundException',
      `The specified launch template, with template name ${name}, does not exist.`,
    ),
  /** DescribeLaunchTemplates naming templates that do not exist (by ID or by name). */
  launchTemplatesNotFound: (by: 'id' | 'name', missing: readonly string[]) =>
    new Ec2Error(
      by === 'id' ? 'InvalidLaunchTemplateId.NotFound' : 'InvalidLaunchTemplateName.NotFoundException',
      `At least one of the launch templates specified in the request does not exist: ${missing.join(', ')}.`,
    ),
  launchTemplateIdMalformed: (id: string) =>
    new Ec2Error('InvalidLaunchTemplateId.Malformed', `Invalid id: "${id}" (expecting "lt-...")`),
  launchTemplateNameMalformed: (name: string) =>
    new Ec2Error(
      'InvalidLaunchTemplateName.MalformedException',
      `The launch template name '${name}' is invalid. A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.`,
    ),
  launchTemplateNameInUse: (name: string) =>
    new Ec2Error('InvalidLaunchTemplateName.AlreadyExistsException', `Launch template name already in use: ${name}.`),
  launchTemplateVersionNotFound: (id: string, version: string) =>
    new Ec2Error(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find the specified version ${version} for the launch template with ID ${id}.`,
    ),
  launchTemplateDataMissing: () =>
    new Ec2Error(
      'MissingParameter',
      'No launch template data was provided. Launch template data is required to create a launch template.',
    ),
  /** CreateLaunchTemplate's own TagSpecifications tag the template only. */
  launchTemplateTagResourceType: (type: string) =>
    new Ec2Error(
      'InvalidParameterValue',
      `The value for the ResourceType member of the TagSpecification request parameter must be 'launch-template', not '${type}'. Verify the ResourceType and try again.`,
    ),

  // --- key pairs --------------------------------------------------------------------------------
  keyPairNotFound: (name: string) => new Ec2Error('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`),
  keyPairIdNotFound: (id: string) => new Ec2Error('InvalidKeyPair.NotFound', `The key pair ID '${id}' does not exist`),
  keyPairDuplicate: (name: string) => new Ec2Error('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`),
  /** ImportKeyPair with material that is not an RSA or Ed25519 public key (EC2's own words). */
  invalidKeyFormat: () => new Ec2Error('InvalidKey.Format', 'Key is not in valid OpenSSH public key format'),
  /** RunInstances: a Windows AMI with an Ed25519 key (EC2's words, code `Unsupported`). */
  ed25519KeyOnWindows: (name: string) =>
    new Ec2Error(
      'Unsupported',
      `ED25519 key pairs are not supported with Windows AMIs. Choose a different key pair type and try again. (key pair '${name}')`,
    ),

  // --- dedicated hosts --------------------------------------------------------------------------
  hostIdNotFound: (ids: readonly string[]) =>
    new Ec2Error(
      'InvalidHostID.NotFound',
      ids.length === 1 ? `The specified host ID '${ids[0]}' does not exist.` : `The specified host IDs ${quoteList(ids)} do not exist.`,
    ),
  hostIdMalformed: (id: string) => new Ec2Error('InvalidHostID.Malformed', `Invalid id: "${id}" (expecting "h-...")`),
  /** AllocateHosts for a type or family that cannot run on Dedicated Hosts (EC2: "The instance family 'Mac1' is not supported."). */
  invalidHostConfiguration: (what: 'instance type' | 'instance family', value: string) =>
    new Ec2Error('InvalidHostConfiguration', `The ${what} '${value}' is not supported.`),
  hostLimitExceeded: (requested: number, limit: number) =>
    new Ec2Error(
      'HostLimitExceeded',
      `You have requested more Dedicated Hosts (${requested}) than your current limit of ${limit} allows.`,
    ),
  /** An untargeted Tenancy=host launch or restart with no host to go on (EC2's own words, HTTP 400). */
  insufficientHostCapacity: () =>
    new Ec2Error(
      'InsufficientHostCapacity',
      'You do not have a host with a matching configuration and sufficient capacity. Either target a host resource group that can automatically allocate hosts on your behalf, or manually allocate a new host to your account and then try again.',
    ),
  /**
   * A launch naming a host that has no room for it (EC2's own words), or a start of an instance with
   * affinity to a host that has no room (EC2: "not enough capacity on the Dedicated Host to launch or
   * start the instance").
   */
  insufficientCapacityOnHost: (hostId: string, startingInstanceId?: string) =>
    new Ec2Error(
      'InsufficientCapacityOnHost',
      startingInstanceId === undefined
        ? `Dedicated host ${hostId} has insufficient capacity to launch the instances in this request.`
        : `Dedicated host ${hostId} has insufficient capacity to start instance ${startingInstanceId}, which has affinity with it.`,
    ),
  unsupportedInstanceTypeOnHost: (type: string, hostId: string, supported: string) =>
    new Ec2Error(
      'UnsupportedInstanceTypeOnHost',
      `The instance type '${type}' is not supported on Dedicated Host '${hostId}', which supports ${supported}.`,
    ),
  zonesMismatched: (zone: string, hostId: string, hostZone: string) =>
    new Ec2Error(
      'ZonesMismatched',
      `The Availability Zone '${zone}' does not match that of Dedicated Host '${hostId}' (${hostZone}).`,
    ),
  invalidHostState: (hostId: string, state: string) =>
    new Ec2Error(
      'InvalidHostState',
      `Dedicated host '${hostId}' is in state '${state}'; it must be 'available' to complete the operation.`,
    ),
  /** ReleaseHosts / ModifyHosts report this per host, as `Client.InvalidHost.Occupied`. */
  hostOccupied: (hostId: string, action: 'released' | 'modified') =>
    new Ec2Error('InvalidHost.Occupied', `Dedicated host '${hostId}' cannot be ${action} as it is occupied`),
  /** Placement.HostId / Affinity (RunInstances, ModifyInstancePlacement) for an instance whose tenancy is not `host`. */
  parameterNeedsHostTenancy: (param: 'hostId' | 'affinity') =>
    new Ec2Error('InvalidParameterCombination', `The parameter ${param} cannot be used without specifying a tenancy of 'host'`),
  /** ModifyInstancePlacement: host, tenancy and placement group change only while stopped (EC2's InvalidInstanceState). */
  placementNeedsStopped: (id: string, state: string) =>
    new Ec2Error(
      'InvalidInstanceState',
      `The instance '${id}' is in the '${state}' state; its host, tenancy or placement group can be changed only while it is 'stopped'.`,
    ),
  /** ModifyInstancePlacement on an instance that is shutting down or terminated. */
  placementNotModifiable: (id: string, state: string) =>
    new Ec2Error('InvalidInstanceState', `The placement of instance '${id}' cannot be modified in the '${state}' state.`),
  /** Tenancy changes to or from `default` (EC2: "you cannot modify the tenancy of an instance … of default"). */
  invalidTenancyChange: (id: string, from: string, to: string) =>
    new Ec2Error(
      'InvalidTenancy',
      `The tenancy of instance '${id}' cannot be changed from '${from}' to '${to}'; only 'dedicated' and 'host' can be exchanged.`,
    ),
  /** T3 instances keep the tenancy they were launched with between dedicated and host (EC2: InvalidRequest). */
  t3TenancyChange: (id: string, from: string, to: string) =>
    new Ec2Error(
      'InvalidRequest',
      `The tenancy of T3 instance '${id}' cannot be changed from '${from}' to '${to}'; a T3 instance must be launched on a Dedicated Host to use tenancy 'host'.`,
    ),
  placementGroupUnknown: (name: string) =>
    new Ec2Error('InvalidPlacementGroup.Unknown', `The placement group '${name}' is unknown.`),
  /** ModifyHosts: a host can change only to a type or to the family within its current family. */
  hostFamilyMismatch: (hostId: string, family: string, requested: string) =>
    new Ec2Error(
      'InvalidInstanceFamily',
      `Dedicated host '${hostId}' supports the ${family} instance family; it cannot be modified to support '${requested}'.`,
    ),

  // --- network (the default VPC, its subnets and security group) ------------------------------
  vpcIdMalformed: (id: string) => new Ec2Error('InvalidVpcID.Malformed', `Invalid id: "${id}" (expecting "vpc-...")`),
  vpcIdNotFound: (ids: readonly string[]) => notFound('InvalidVpcID.NotFound', 'vpc', ids),
  subnetIdMalformed: (id: string) => new Ec2Error('InvalidSubnetID.Malformed', `Invalid id: "${id}" (expecting "subnet-...")`),
  subnetIdNotFound: (ids: readonly string[]) => notFound('InvalidSubnetID.NotFound', 'subnet', ids),
  securityGroupIdMalformed: (id: string) => new Ec2Error('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`),
  securityGroupNotFound: (ids: readonly string[]) =>
    new Ec2Error(
      'InvalidGroup.NotFound',
      ids.length === 1 ? `The security group '${ids[0]}' does not exist` : `The security groups ${quoteList(ids)} do not exist`,
    ),
  /** A group named (not by ID) that the default VPC does not have, in EC2's words. */
  securityGroupNameNotFound: (name: string, vpcId: string) =>
    new Ec2Error('InvalidGroup.NotFound', `The security group '${name}' does not exist in default VPC '${vpcId}'`),
  /** RunInstances: the subnet decides the zone, and Placement.AvailabilityZone named another (EC2's words). */
  subnetZoneMismatch: (zone: string, subnetId: string, subnetZone: string) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Value (${zone}) for parameter availabilityZone is invalid. Subnet '${subnetId}' is in the availability zone ${subnetZone}`,
    ),
  networkInterfacesWithInstanceLevel: (what: 'subnet ID' | 'security groups' | 'private IP address') =>
    new Ec2Error('InvalidParameterCombination', `Network interfaces and an instance-level ${what} may not be specified on the same request`),
  groupNameWithSubnet: () =>
    new Ec2Error('InvalidParameterCombination', 'The parameter groupName cannot be used with the parameter subnet'),
  /** A network interface setting nestbox cannot honour (it gives each instance one primary interface). */
  networkInterfaceNotImplemented: (what: string) =>
    new Ec2Error(
      'NotImplemented',
      `RunInstances with ${what} is real EC2 behaviour but nestbox does not implement it yet: each instance has one primary network interface (device index 0).`,
      501,
    ),

  // --- VPCs and subnets --------------------------------------------------------------------------
  invalidCidrBlock: (param: string, cidr: string) => Errors.invalidValueFor(param, cidr, 'This is not a valid CIDR block.'),
  vpcRange: (cidr: string) => new Ec2Error('InvalidVpc.Range', `The CIDR '${cidr}' is invalid.`),
  subnetRange: (cidr: string) => new Ec2Error('InvalidSubnet.Range', `The CIDR '${cidr}' is invalid.`),
  subnetConflict: (cidr: string) => new Ec2Error('InvalidSubnet.Conflict', `The CIDR '${cidr}' conflicts with another subnet`),
  vpcLimitExceeded: (limit: number) => new Ec2Error('VpcLimitExceeded', `The maximum number of VPCs has been reached (${limit}).`),
  subnetLimitExceeded: (limit: number) => new Ec2Error('SubnetLimitExceeded', `The maximum number of subnets has been reached (${limit} per VPC).`),
  dependencyViolation: (noun: 'vpc' | 'subnet', id: string, what: string) =>
    new Ec2Error('DependencyViolation', `The ${noun} '${id}' has dependencies and cannot be deleted (${what}).`),
  /** The default VPC and its default subnets are derived from the account and Region (src/domain/network.ts). */
  defaultNetworkKept: (noun: 'vpc' | 'subnet' | 'internet gateway' | 'route table', id: string) =>
    new Ec2Error(
      'OperationNotPermitted',
      `nestbox keeps the default VPC of every account and Region with its default subnets, internet gateway and main route table: the ${noun} '${id}' cannot be deleted.`,
    ),
  multipleAttributes: (names: readonly string[]) =>
    new Ec2Error('InvalidParameterCombination', `Fields for multiple attribute types specified: ${names.join(', ')}`),
  insufficientFreeAddresses: (subnetId: string) =>
    new Ec2Error(
      'InsufficientFreeAddressesInSubnet',
      `There are not enough free addresses in subnet '${subnetId}' to satisfy the requested number of instances.`,
    ),
  internetGatewayIdMalformed: (id: string) => new Ec2Error('InvalidInternetGatewayID.Malformed', `Invalid id: "${id}" (expecting "igw-...")`),
  internetGatewayIdNotFound: (ids: readonly string[]) => notFound('InvalidInternetGatewayID.NotFound', 'internetGateway', ids),
  routeTableIdMalformed: (id: string) => new Ec2Error('InvalidRouteTableID.Malformed', `Invalid id: "${id}" (expecting "rtb-...")`),
  routeTableIdNotFound: (ids: readonly string[]) => notFound('InvalidRouteTableID.NotFound', 'routeTable', ids),
  networkAclIdMalformed: (id: string) => new Ec2Error('InvalidNetworkAclID.Malformed', `Invalid id: "${id}" (expecting "acl-...")`),
  networkAclIdNotFound: (ids: readonly string[]) => notFound('InvalidNetworkAclID.NotFound', 'networkAcl', ids),
  associationIdNotFound: (id: string) => new Ec2Error('InvalidAssociationID.NotFound', `The association ID '${id}' does not exist`),
  gatewayAlreadyAttached: (igwId: string, vpcId: string) =>
    new Ec2Error('Resource.AlreadyAssociated', `resource ${igwId} is already attached to network ${vpcId}`),
  vpcHasGateway: (vpcId: string, igwId: string) =>
    new Ec2Error('Resource.AlreadyAssociated', `Network ${vpcId} already has an internet gateway attached (${igwId})`),
  gatewayNotAttached: (igwId: string, vpcId: string) =>
    new Ec2Error('Gateway.NotAttached', `resource ${igwId} is not attached to network ${vpcId}`),
  /** DetachInternetGateway while instances of the VPC hold public addresses (EC2's words). */
  vpcHasPublicAddresses: (vpcId: string) =>
    new Ec2Error(
      'DependencyViolation',
      `Network ${vpcId} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`,
    ),
  resourceHasDependencies: (noun: 'internetGateway' | 'routeTable', id: string, what: string) =>
    new Ec2Error('DependencyViolation', `The ${noun} '${id}' has dependencies and cannot be deleted (${what}).`),
  routeAlreadyExists: (cidr: string, tableId: string) =>
    new Ec2Error('RouteAlreadyExists', `The route identified by ${cidr} already exists in route table ${tableId}.`),
  routeNotFound: (cidr: string, tableId: string) =>
    new Ec2Error('InvalidRoute.NotFound', `no route with destination-cidr-block ${cidr} in route table ${tableId}`),
  localRouteKept: (cidr: string, tableId: string) =>
    new Ec2Error('InvalidParameterValue', `cannot remove local route ${cidr} in route table ${tableId}`),
  routeTargetInOtherVpc: (tableId: string, target: string) =>
    new Ec2Error('InvalidParameterValue', `route table ${tableId} and network gateway ${target} belong to different networks`),
  subnetAlreadyAssociated: (tableId: string, subnetId: string) =>
    new Ec2Error('Resource.AlreadyAssociated', `the specified association for route table ${tableId} conflicts with an existing association (subnet ${subnetId})`),
  routeTableInOtherVpc: (tableId: string, subnetId: string) =>
    new Ec2Error('InvalidParameterValue', `route table ${tableId} and subnet ${subnetId} belong to different networks`),
  mainAssociationKept: (id: string) =>
    new Ec2Error('InvalidParameterValue', `cannot disassociate the main route table association ${id}`),
  limitExceeded: (code: string, what: string, limit: number) => new Ec2Error(code, `The maximum number of ${what} has been reached (${limit}).`),
  groupAndSubnetInDifferentVpcs: (groupId: string, subnetId: string) =>
    new Ec2Error('InvalidParameter', `Security group ${groupId} and subnet ${subnetId} belong to different networks.`),

  // --- data volumes and snapshots ---
  // Codes and messages as EC2 answers them: moto 5 ec2/exceptions.py (InvalidVolume.NotFound, VolumeInUse,
  // InvalidAttachment.NotFound, InvalidSnapshot.InUse) and public reports of EC2's own answers (cited per entry).
  /** "The snapshot 'snap-…' does not exist." (EC2; moto answers it with an empty message) */
  snapshotNotFound: (ids: readonly string[]) =>
    new Ec2Error(
      'InvalidSnapshot.NotFound',
      ids.length === 1 ? `The snapshot '${ids[0]}' does not exist.` : `The snapshots ${quoteList(ids)} do not exist.`,
    ),
  /** CreateVolume / CopySnapshot from a snapshot that is not completed yet */
  snapshotNotReady: (id: string, state: string) => new Ec2Error('IncorrectState', `Snapshot '${id}' is in invalid state - ${state}`),
  snapshotIdMalformed: (id: string) => new Ec2Error('InvalidSnapshotID.Malformed', `Invalid id: "${id}" (expecting "snap-...")`),
  snapshotInUse: (snapshotId: string, imageId: string) =>
    new Ec2Error('InvalidSnapshot.InUse', `The snapshot ${snapshotId} is currently in use by ${imageId}`),
  /** CreateVolume with neither Size nor SnapshotId (moto: MissingParameterError("size/snapshot")). */
  volumeSizeOrSnapshot: () => new Ec2Error('MissingParameter', 'The request must contain the parameter size/snapshot'),
  /** CreateVolume from a snapshot with a smaller Size (EC2's words, as RunInstances', code InvalidParameterValue). */
  volumeSmallerThanItsSnapshot: (size: number, snapshotId: string, snapshotSize: number) =>
    new Ec2Error('InvalidParameterValue', `Volume of size ${size}GB is smaller than snapshot '${snapshotId}', expect size >= ${snapshotSize}GB`),
  volumeTooSmall: (size: number, type: string, min: number) =>
    new Ec2Error('InvalidParameterValue', `Volume of ${size}GiB is too small for volume type ${type}; minimum is ${min}GiB`),
  /** CreateVolume / ModifyVolume: throughput on a type without it (EC2's CreateVolume wording). */
  throughputNotSupportedFor: (type: string) =>
    new Ec2Error('InvalidParameterCombination', `The parameter throughput is not supported for ${type} volumes.`),
  /** terraform-provider-aws / kubernetes reports: "The volume 'vol-…' is not in the same availability zone as instance 'i-…'" */
  volumeZoneMismatch: (volumeId: string, instanceId: string) =>
    new Ec2Error('InvalidVolume.ZoneMismatch', `The volume '${volumeId}' is not in the same availability zone as instance '${instanceId}'`),
  /** AttachVolume of a volume that is attached: "vol-… is already attached to an instance" */
  volumeAlreadyAttached: (volumeId: string) => new Ec2Error('VolumeInUse', `${volumeId} is already attached to an instance`),
  /** Terraform / rexray / aminator reports: "Invalid value '/dev/sdf' for unixDevice. Attachment point /dev/sdf is already in use" */
  attachmentPointInUse: (device: string) =>
    new Ec2Error('InvalidParameterValue', `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`),
  /** "Value (xvdz1) for parameter device is invalid. xvdz1 is not a valid EBS device name." */
  invalidEbsDeviceName: (device: string) =>
    new Ec2Error('InvalidParameterValue', `Value (${device}) for parameter device is invalid. ${device} is not a valid EBS device name.`),
  /** DetachVolume of an available volume (aws-ebs-csi-driver #1801's wire capture). */
  volumeInState: (volumeId: string, state: string) => new Ec2Error('IncorrectState', `Volume '${volumeId}' is in the '${state}' state.`),
  /** moto InvalidVolumeAttachmentError */
  volumeNotAttachedTo: (volumeId: string, instanceId: string) =>
    new Ec2Error('InvalidAttachment.NotFound', `Volume ${volumeId} can not be detached from ${instanceId} because it is not attached`),
  /** moto InvalidVolumeDetachmentError */
  volumeNotAttachedAs: (volumeId: string, instanceId: string, device: string) =>
    new Ec2Error('InvalidAttachment.NotFound', `The volume ${volumeId} is not attached to instance ${instanceId} as device ${device}`),
  /** DetachVolume of a root volume while its instance runs (the API reference: stop the instance first). */
  rootVolumeDetach: (volumeId: string, instanceId: string) =>
    new Ec2Error('IncorrectState', `Unable to detach root volume '${volumeId}' from instance '${instanceId}'`),
  /** AttachVolume: the instance must be running or stopped. */
  instanceNotAttachable: (instanceId: string, state: string) =>
    new Ec2Error('IncorrectInstanceState', `Instance '${instanceId}' is not 'running' or 'stopped'; its current state is '${state}'.`),
  /** aws-cli #4216: ModifyVolume to a smaller size */
  volumeShrink: () => new Ec2Error('InvalidParameterValue', 'New size cannot be smaller than existing size'),
  /** ModifyVolume that changes nothing */
  volumeModificationNoChange: (volumeId: string) =>
    new Ec2Error('InvalidParameterValue', `Modification request for volume '${volumeId}' does not change any of its attributes.`),
  /** ModifyVolume of a root volume: its settings live with its instance */
  volumeModificationNotImplemented: (volumeId: string) =>
    Errors.parameterNotImplemented('ModifyVolume', `the root volume ${volumeId}`, 'a root volume keeps the settings its instance was launched with'),
  tooManyDataVolumes: (instanceId: string, max: number) =>
    new Ec2Error('AttachmentLimitExceeded', `Instance '${instanceId}' already has the maximum of ${max} attached data volumes nestbox supports.`),
  snapshotRegion: (region: string) => new Ec2Error('InvalidParameterValue', `Value (${region}) for parameter SourceRegion is invalid. It is not a Region of this endpoint.`),
  /** Encrypted copy/restore arguments nestbox has no KMS for */
  kmsNotImplemented: (action: string, param: string) =>
    Errors.parameterNotImplemented(action, param, 'nestbox has no AWS KMS; Encrypted=true is recorded with the AWS managed key'),

  // --- Elastic IPs ---
  // Codes and words from EC2's answers as published: AddressLimitExceeded (opstrace/opstrace#273,
  // openshift/managed-notifications#15), Resource.AlreadyAssociated (ansible/ansible#27385), the pending
  // instance's InvalidInstanceID (hashicorp/terraform-provider-aws#3072), Gateway.NotAttached
  // (terraform-provider-aws#2181), InvalidIPAddress.InUse (ReleaseAddress's API reference; the words as
  // OpenStack's ec2-api answers them), InvalidAllocationID.NotFound (ec2-api; moto's ec2/exceptions.py).
  allocationIdMalformed: (id: string) => new Ec2Error('InvalidAllocationID.Malformed', `Invalid id: "${id}" (expecting "eipalloc-...")`),
  allocationIdNotFound: (ids: readonly string[]) => notFound('InvalidAllocationID.NotFound', 'allocation', ids),
  addressNotFound: (ips: readonly string[]) =>
    new Ec2Error('InvalidAddress.NotFound', ips.length === 1 ? `Address '${ips[0]}' not found.` : `Addresses ${quoteList(ips)} not found.`),
  addressLimitExceeded: () => new Ec2Error('AddressLimitExceeded', 'The maximum number of addresses has been reached.'),
  standardDomain: () =>
    new Ec2Error(
      'InvalidParameterValue',
      "Value (standard) for parameter domain is invalid. EC2-Classic has been retired: Elastic IP addresses are for use in a VPC (Domain 'vpc').",
    ),
  addressAlreadyAssociated: (allocationId: string, associationId: string) =>
    new Ec2Error('Resource.AlreadyAssociated', `resource ${allocationId} is already associated with associate-id ${associationId}`),
  /** AssociateAddress naming an instance that is neither running nor stopped (EC2 answers InvalidInstanceID). */
  instanceNotAssociable: (id: string, state: string) =>
    new Ec2Error('InvalidInstanceID', `The ${state} instance '${id}' is not in a valid state for this operation.`),
  /** The same, the instance named by its network interface. */
  interfaceInstanceNotAssociable: (eniId: string, state: string) =>
    new Ec2Error('IncorrectInstanceState', `The ${state} instance to which '${eniId}' is attached is not in a valid state for this operation.`),
  networkInterfaceIdMalformed: (id: string) => new Ec2Error('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`),
  networkInterfaceIdNotFound: (id: string) =>
    new Ec2Error('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`),
  // --- network interfaces of their own ---
  // "Interface: [eni-…] in use." as EC2 answers DeleteNetworkInterface and RunInstances with an attached
  // interface (terraform-provider-aws#27513); InvalidAttachmentID.NotFound and the device-index-0 detach
  // refusal as moto 5's ec2/exceptions.py words them; "Interface count N exceeds the limit for <type>"
  // (AttachmentLimitExceeded) and the zone rule as EC2's answers are published in public reports.
  networkInterfaceInUse: (eniId: string) => new Ec2Error('InvalidNetworkInterface.InUse', `Interface: [${eniId}] in use.`),
  interfaceAttachmentNotFound: (id: string) =>
    new Ec2Error('InvalidAttachmentID.NotFound', `The network interface attachment ID '${id}' does not exist`),
  primaryInterfaceDetach: () =>
    new Ec2Error('OperationNotPermitted', 'The network interface at device index 0 and networkCard index 0 cannot be detached.'),
  deviceIndexInUse: (instanceId: string, index: number) =>
    Errors.invalidParameterValue(`Instance '${instanceId}' already has an interface attached at device index '${index}'.`),
  interfaceZoneMismatch: () =>
    Errors.invalidParameterCombination('You may not attach a network interface to an instance if they are not in the same availability zone'),
  interfaceVpcMismatch: (eniId: string, instanceId: string) =>
    Errors.invalidParameterCombination(`The network interface '${eniId}' and the instance '${instanceId}' are in different VPCs.`),
  interfaceLimitExceeded: (count: number, instanceType: string) =>
    new Ec2Error('AttachmentLimitExceeded', `Interface count ${count} exceeds the limit for ${instanceType}`),
  privateAddressLimitExceeded: (eniId: string, max: number) =>
    new Ec2Error('PrivateIpAddressLimitExceeded', `Number of private addresses will exceed limit: ${eniId} holds at most ${max}.`),
  primaryAddressUnassign: (ip: string) =>
    Errors.invalidParameterValue(`The primary private IPv4 address ${ip} of a network interface cannot be unassigned.`),
  interfaceNotAttached: (eniId: string) => new Ec2Error('IncorrectState', `The network interface '${eniId}' is not attached to an instance.`),
  oneInstancePerInterface: (what: string) =>
    Errors.invalidParameterCombination(`${what} can be given to one instance only: MinCount and MaxCount must be 1.`),
  interfaceIdWithSettings: (index: number, member: string) =>
    Errors.invalidParameterCombination(`NetworkInterface.${index} names an existing network interface: it may not also give ${member}.`),
  vpcWithoutGateway: (vpcId: string) => new Ec2Error('Gateway.NotAttached', `Network ${vpcId} is not attached to any internet gateway`),
  addressInUse: (ip: string) => new Ec2Error('InvalidIPAddress.InUse', `Address ${ip} is in use.`),
  privateIpNotOnInterface: (ip: string, eniId: string) =>
    Errors.invalidValueFor('PrivateIpAddress', ip, `It is not a private IPv4 address of network interface ${eniId}.`),

  // --- user images ---
  // moto 5 ec2/exceptions.py (InvalidAMIID.Unavailable, InvalidAMIAttributeItemValue) and ec2/models/amis.py;
  // InvalidAMIName.Duplicate's words as EC2 answers them in public reports (packer#880, terraform-aws-consul#131:
  // "AMI name … is already in use by AMI ami-…"); the name rules from CreateImage's API reference.
  amiNameDuplicate: (name: string, imageId: string) => new Ec2Error('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI ${imageId}`),
  amiNameMalformed: (name: string) =>
    new Ec2Error(
      'InvalidAMIName.Malformed',
      `AMI name '${name}' is invalid: AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', "'", '@' and '_'`,
    ),
  /** moto UnvailableAMIIdError: an image that is not (or no longer) available. */
  amiUnavailable: (id: string, state?: string) =>
    new Ec2Error('InvalidAMIID.Unavailable', state === undefined ? `The image id '[${id}]' is no longer available` : `The image id '[${id}]' is not available: its state is ${state}`),
  /** moto InvalidAMIAttributeItemValueError: a launch permission naming neither a 12-digit account nor the group `all`. */
  amiAttributeItemValue: (attribute: string, value: string) =>
    new Ec2Error('InvalidAMIAttributeItemValue', `Invalid attribute item value "${value}" for ${attribute} item type.`),
  /** Describe/Modify/ResetImageAttribute of an image the caller may launch but does not own. */
  amiNotOwned: (id: string) => new Ec2Error('AuthFailure', `Not authorized for image:${id}`),
  /** CreateImage from an instance that is neither running nor stopped. */
  createImageState: (instanceId: string, state: string) =>
    new Ec2Error('IncorrectInstanceState', `The instance '${instanceId}' is not in a state from which it can be imaged (${state}): it must be running or stopped.`),
  /** Built-in images have no snapshots of their own to copy or deregister. */
  builtInImage: (id: string, operation: string) =>
    new Ec2Error('InvalidParameterValue', `The image ${id} is one of nestbox's built-in images; ${operation} takes an image of an account (CreateImage, RegisterImage, CopyImage).`),

  // --- fleets ------------------------------------------------------------------------------------
  fleetIdMalformed: (id: string) => new Ec2Error('InvalidFleetId.Malformed', `Invalid id: "${id}" (expecting "fleet-...")`),
  fleetIdNotFound: (ids: readonly string[]) => notFound('InvalidFleetId.NotFound', 'fleet', ids),
  /** CreateFleet Type=request|maintain: a fleet that keeps capacity over time, which nestbox does not have. */
  fleetTypeNotImplemented: (type: string, defaulted: boolean) =>
    new Ec2Error(
      'NotImplemented',
      `CreateFleet with Type=${type}${defaulted ? ' (the default when Type is not given)' : ''} is real EC2 behaviour but nestbox implements Type=instant fleets only; got ${type}.`,
      501,
    ),
  /** A CreateFleet option nestbox does not implement (attribute-based selection, capacity reservations, price caps …). */
  fleetFeatureNotImplemented: (what: string) =>
    new Ec2Error(
      'NotImplemented',
      `CreateFleet with ${what} is real EC2 behaviour but nestbox does not implement it: it launches instant fleets of On-Demand and Spot Instances from launch templates and their overrides.`,
      501,
    ),
  fleetCapacitySplit: (onDemand: number, spot: number, total: number) =>
    new Ec2Error(
      'InvalidParameterValue',
      `The sum of OnDemandTargetCapacity (${onDemand}) and SpotTargetCapacity (${spot}) exceeds TotalTargetCapacity (${total}).`,
    ),
  /** DescribeFleetInstances on an instant fleet, in EC2's words (EC2 answers `Unsupported`). */
  fleetInstancesOfInstantFleet: (id: string) =>
    new Ec2Error('Unsupported', `Fleet ${id} is instant fleet. Describe fleet instances is not supported by this type of fleet`),
  tooManyInstantFleets: (count: number, limit: number) =>
    new Ec2Error(
      'InvalidParameterValue',
      `You can delete up to ${limit} fleets of type instant in a single request; this request names ${count}. No fleets were deleted.`,
    ),

  // --- launch options: block devices, metadata, monitoring, credits, Spot, IAM --------------------
  /** A parameter (or a value of one) nestbox cannot honour: refused by name rather than dropped. */
  parameterNotImplemented: (action: string, what: string, why: string) =>
    new Ec2Error('NotImplemented', `${action} with ${what} is real EC2 behaviour but nestbox does not implement it: ${why}.`, 501),
  launchOptionNotImplemented: (what: string, why: string) => Errors.parameterNotImplemented('RunInstances', what, why),
  invalidBlockDeviceMapping: (message: string) => new Ec2Error('InvalidBlockDeviceMapping', message),
  invalidDeviceName: (name: string) => new Ec2Error('InvalidBlockDeviceMapping', `Invalid device name ${name}`),
  duplicateDevice: (name: string) =>
    new Ec2Error('InvalidBlockDeviceMapping', `The device '${name}' is used in more than one block-device mapping`),
  /** EC2's words, two spaces before "snapshot" included (as every public report of it quotes them). */
  volumeSmallerThanSnapshot: (size: number, snapshotId: string, snapshotSize: number) =>
    new Ec2Error(
      'InvalidBlockDeviceMapping',
      `Volume of size ${size}GB is smaller than  snapshot '${snapshotId}', expect size >= ${snapshotSize}GB`,
    ),
  volumeTooLarge: (size: number, type: string, max: number) =>
    new Ec2Error('InvalidParameterValue', `Volume of ${size}GiB is too large for volume type ${type}; maximum is ${max}GiB`),
  notABootVolumeType: (type: string, device: string) =>
    new Ec2Error(
      'InvalidBlockDeviceMapping',
      `The volume type ${type} cannot be used for the root device ${device}: st1 and sc1 volumes cannot be boot volumes.`,
    ),
  iopsNotSupported: (type: string) =>
    new Ec2Error('InvalidParameterCombination', `The parameter iops is not supported for ${type} volumes.`),
  iopsRequired: (type: string) =>
    new Ec2Error('InvalidParameterCombination', `The parameter iops must be specified for ${type} volumes.`),
  iopsOutOfRange: (iops: number, type: string, bound: 'minimum' | 'maximum', limit: number) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Volume iops of ${iops} is too ${bound === 'minimum' ? 'low' : 'high'} for volume type ${type}; ${bound} is ${limit}.`,
    ),
  iopsToSizeRatio: (ratio: number, max: number) =>
    new Ec2Error('InvalidParameterValue', `Iops to volume size ratio of ${ratio.toFixed(6)} is too high; maximum is ${max}`),
  throughputNotSupported: (device: string) =>
    new Ec2Error('InvalidBlockDeviceMapping', `throughput cannot be specified with the volumeType of device '${device}'`),
  throughputOutOfRange: (throughput: number, bound: 'minimum' | 'maximum', limit: number) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Volume throughput of ${throughput} MiB/s is too ${bound === 'minimum' ? 'low' : 'high'}; ${bound} is ${limit} MiB/s.`,
    ),
  throughputToIopsRatio: (ratio: number, max: number) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Throughput (MiBps) to iops ratio of ${ratio.toFixed(6)} is too high; maximum is ${max.toFixed(6)} MiBps per iops`,
    ),
  kmsKeyWithoutEncryption: () =>
    new Ec2Error('InvalidParameterDependency', 'The parameter KmsKeyId requires the parameter Encrypted to be set.'),
  volumeInUse: (volumeId: string, instanceId: string) =>
    new Ec2Error('VolumeInUse', `Volume ${volumeId} is currently attached to ${instanceId}`),
  /** EC2's words for a StopInstances of a Spot Instance whose request is one-time. */
  oneTimeSpotStop: (id: string) =>
    new Ec2Error(
      'UnsupportedOperation',
      `You can't stop the Spot Instance '${id}' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.`,
    ),
  spotRequestTypeBehavior: (type: string, behavior: string) =>
    new Ec2Error(
      'InvalidParameterCombination',
      `The request with type '${type}' is not supported when instanceInterruptionBehavior is set to '${behavior}'.`,
    ),
  spotOnDedicatedHost: () =>
    new Ec2Error('InvalidParameterCombination', "Spot Instances cannot be launched with a tenancy of 'host'."),
  /** EC2's words (code InstanceCreditSpecification.NotSupported), whichever credit option was asked for. */
  creditSpecificationNotSupported: (type: string) =>
    new Ec2Error('InstanceCreditSpecification.NotSupported', `The ${type} instance type does not support T2 Unlimited.`),
  unlimitedOnDedicatedHost: (type: string) =>
    new Ec2Error(
      'InstanceCreditSpecification.NotSupported',
      `T3 instances with host tenancy do not support the unlimited CPU credit option (${type}).`,
    ),
  enclaveNotSupported: (type: string) =>
    new Ec2Error('UnsupportedOperation', `The instance type ${type} does not support Nitro Enclaves.`),
  enclaveWithHibernation: () =>
    new Ec2Error('InvalidParameterCombination', 'Nitro Enclaves and hibernation cannot both be enabled on an instance.'),
  iamProfileNameAndArn: () =>
    new Ec2Error(
      'InvalidParameterCombination',
      "The parameter 'iamInstanceProfile.name' may not be used in combination with 'iamInstanceProfile.arn'",
    ),
  iamProfileInvalid: (param: 'arn' | 'name', value: string) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Value (${value}) for parameter iamInstanceProfile.${param} is invalid. Invalid IAM Instance Profile ${param === 'arn' ? 'ARN' : 'name'}`,
    ),

  // --- tags -------------------------------------------------------------------------------------
  invalidResourceId: (id: string) => new Ec2Error('InvalidID', `The ID '${id}' is not valid`),
  tagLimitExceeded: (limit: number) =>
    new Ec2Error('TagLimitExceeded', `The maximum number of tags per resource (${limit}) has been exceeded.`),
  invalidTagKey: (key: string) =>
    new Ec2Error('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use: ${key}`),

  // --- stored text (src/domain/text.ts) -------------------------------------------------------------
  /** A stored, echoed member with a character XML 1.0 cannot carry; `shown` has it replaced by U+FFFD. */
  invalidCharacter: (param: string, shown: string, codePoint: string) =>
    new Ec2Error(
      'InvalidParameterValue',
      `Value (${shown}) for parameter ${param} is invalid. It contains the character ${codePoint}; control characters other than tab, line feed and carriage return, U+FFFE, U+FFFF and unpaired surrogates are not allowed.`,
    ),

  // --- bounded resources (src/http/server.ts, launch-template versions) -------------------------
  /** A request body that did not arrive in time (the SDKs retry `RequestTimeout` as a transient error). */
  requestTimeout: (ms: number) =>
    new Ec2Error('RequestTimeout', `The request body was not received within ${ms} ms; the connection is closed.`, 408),
  /** The connection closed before the request's body arrived (never seen by the client, which is gone). */
  requestAborted: () => new Ec2Error('RequestAborted', 'The connection closed before the request body arrived.', 400),
  /** EC2's server error for a temporary failure; here: the server's budget of request bytes in flight is spent. */
  serviceUnavailable: (detail: string) =>
    new Ec2Error('ServiceUnavailable', `The request has failed due to a temporary failure of the server. ${detail}`, 503),
  /** EC2's code for the 10,000-versions-per-template quota (errors-overview: "You've reached the limit on the number of launch template versions you can create."). */
  launchTemplateVersionLimitExceeded: (id: string, limit: number) =>
    new Ec2Error(
      'MaxTemplateVersionLimitExceeded',
      `You've reached the limit on the number of launch template versions you can create: launch template ${id} has ${limit} versions. Delete versions you no longer need and try again.`,
    ),

  // --- faults on demand (src/faults.ts) and API throttling (--throttle) -----------------------------
  /**
   * EC2's throttling error: HTTP 503, code RequestLimitExceeded (AWS SDK reports quote "Request limit exceeded.
   * (Service: AmazonEC2; Status Code: 503; Error Code: RequestLimitExceeded …)"); the SDKs retry it as throttling.
   */
  requestLimitExceeded: (account: string, action: string) =>
    new Ec2Error(
      'RequestLimitExceeded',
      `Request limit exceeded. Account ${account} has been throttled on ec2:${action} because it exceeded its request rate limit.`,
      503,
    ),

  // --- several accounts (src/accounts.ts) ---------------------------------------------------------
  /**
   * A read-only key calling an operation that changes something, in EC2's words for an IAM denial
   * ("You are not authorized to perform this operation. User: arn:aws:iam::…:user/… is not authorized
   * to perform: ec2:RunInstances on resource: … because no identity-based policy allows the … action"),
   * without the encoded authorization message (there is no STS to decode it). Also answers DryRun.
   */
  notAuthorized: (account: string, user: string, action: string, region: string) =>
    new Ec2Error(
      'UnauthorizedOperation',
      `You are not authorized to perform this operation. User: arn:aws:iam::${account}:user/${user} is not authorized to perform: ec2:${action} on resource: arn:aws:ec2:${region}:${account}:* because no identity-based policy allows the ec2:${action} action`,
      403,
    ),
  /** EC2's On-Demand vCPU quota, in its own words (RunInstances answers it today instead of InstanceLimitExceeded). */
  vcpuLimitExceeded: (limit: number) =>
    new Ec2Error(
      'VcpuLimitExceeded',
      `You have requested more vCPU capacity than your current vCPU limit of ${limit} allows for the instance bucket that the specified instance type belongs to. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.`,
    ),
  /** The key pair quota (EC2: 5,000 per Region); EC2's generic code for a resource quota. */
  keyPairLimitExceeded: (limit: number) =>
    new Ec2Error('ResourceLimitExceeded', `You have reached the maximum number of key pairs (${limit}) for this account in this Region.`),
  /** The launch template quota (EC2: 5,000 per Region). */
  launchTemplateLimitExceeded: (limit: number) =>
    new Ec2Error(
      'LaunchTemplateLimitExceeded',
      `You've reached the maximum number of launch templates (${limit}) for this account in this Region. Delete launch templates you no longer need and try again.`,
    ),

  // --- security groups ---
  /** EC2's words (reported by Terraform, the AWS SDKs and kubernetes-sigs/cluster-api-provider-aws alike). */
  securityGroupDuplicate: (name: string, vpcId: string) =>
    new Ec2Error('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpcId}'`),
  /** EC2: "Value (sg-017c251) for parameter GroupName is invalid. Group names may not be in the format sg-*." */
  groupNameReservedPrefix: (name: string) => Errors.invalidValueFor('GroupName', name, 'Group names may not be in the format sg-*.'),
  invalidGroupText: (param: 'GroupName' | 'GroupDescription', value: string) =>
    Errors.invalidValueFor(param, value, 'It is up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*.'),
  invalidRuleDescription: (value: string) =>
    Errors.invalidValueFor('Description', value, 'Rule descriptions are up to 255 characters of a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$*.'),
  securityGroupLimitExceeded: (limit: number) =>
    new Ec2Error('SecurityGroupLimitExceeded', `The maximum number of security groups has been reached (${limit} per Region).`),
  /** EC2's words for DeleteSecurityGroup of a VPC's `default` group. */
  cannotDeleteDefaultGroup: (id: string) =>
    new Ec2Error('CannotDelete', `the specified group: "${id}" name: "default" cannot be deleted by a user`),
  /** EC2's words: a rule of another group references it, or an instance (network interface) uses it. */
  securityGroupInUse: (id: string) => new Ec2Error('DependencyViolation', `resource ${id} has a dependent object`),
  /** EC2's words, quoting the rule: `the specified rule "peer: 0.0.0.0/0, TCP, from port: 22, to port: 22, ALLOW" already exists`. */
  permissionDuplicate: (rule: string) => new Ec2Error('InvalidPermission.Duplicate', `the specified rule "${rule}" already exists`),
  /** EC2's words (a revoke or description update of a rule the group does not have). */
  permissionNotFound: () => new Ec2Error('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.'),
  rulesPerGroupLimitExceeded: (limit: number, direction: 'inbound' | 'outbound') =>
    new Ec2Error(
      'RulesPerSecurityGroupLimitExceeded',
      `The maximum number of rules per security group has been reached (${limit} ${direction} rules).`,
    ),
  /** EC2's words: `Invalid value 'foo' for IP protocol. Unknown protocol.` */
  unknownIpProtocol: (value: string) => new Ec2Error('InvalidParameterValue', `Invalid value '${value}' for IP protocol. Unknown protocol.`),
  /** EC2's words: `Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.` */
  portRangeRequired: (what: 'TCP/UDP' | 'ICMP') =>
    new Ec2Error('InvalidParameterValue', `Invalid value 'Must specify both from and to ports with ${what}.' for portRange.`),
  /** EC2's words: `TCP/UDP (from) port (-1) out of range`. */
  portOutOfRange: (which: 'from' | 'to', port: number) =>
    new Ec2Error('InvalidParameterValue', `TCP/UDP (${which}) port (${port}) out of range`),
  portRangeInverted: (from: number, to: number) =>
    new Ec2Error('InvalidParameterValue', `Invalid TCP/UDP port range: the from port (${from}) is greater than the to port (${to}).`),
  icmpOutOfRange: (which: 'type' | 'code', value: number) =>
    new Ec2Error('InvalidParameterValue', `ICMP ${which} (${value}) out of range`),
  prefixListIdMalformed: (id: string) => new Ec2Error('InvalidPrefixListId.Malformed', `Invalid id: "${id}" (expecting "pl-...")`),
  securityGroupRuleIdMalformed: (id: string) =>
    new Ec2Error('InvalidSecurityGroupRuleId.Malformed', `Invalid id: "${id}" (expecting "sgr-...")`),
  securityGroupRuleIdNotFound: (ids: readonly string[]) =>
    new Ec2Error(
      'InvalidSecurityGroupRuleId.NotFound',
      ids.length === 1 ? `The security group rule ID '${ids[0]}' does not exist` : `The security group rule IDs ${quoteList(ids)} do not exist`,
    ),
  /** A rule referencing a group of another VPC (EC2: "You have specified two resources that belong to different networks."). */
  groupsInDifferentNetworks: (groupId: string, referencedId: string) =>
    new Ec2Error(
      'InvalidGroup.NotFound',
      `You have specified two resources that belong to different networks: ${groupId} and ${referencedId}.`,
    ),
  /** A rule referencing another account's group: nestbox has no VPC peering, so no other account's group is visible. */
  foreignGroupReference: (userId: string, group: string) =>
    new Ec2Error('InvalidGroup.NotFound', `The security group '${group}' of account ${userId} does not exist`),
} as const;

export type ErrorFactory = keyof typeof Errors;
