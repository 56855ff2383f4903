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

  // --- images -----------------------------------------------------------------------------------
  amiIdMalformed: (id: string) => new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${id}" (expecting "ami-...")`),
  amiIdNotFound: (ids: readonly string[]) =>
    new Ec2Error(
      'InvalidAMIID.NotFound',
      ids.length === 1 ? `The image id '[${ids[0]}]' does not exist` : `The image ids '[${ids.join(', ')}]' do not exist`,
    ),

  // --- tags -------------------------------------------------------------------------------------
  invalidResourceId: (id: string) => new Ec2Error('InvalidID', `The ID '${id}' is not valid`),
  tagLimitExceeded: (limit: number) =>
    new Ec2Error('TagLimitExceeded', `The maximum number of tags per resource (${limit}) has been exceeded.`),
  invalidTagKey: (key: string) =>
    new Ec2Error('InvalidParameterValue', `Tag keys starting with 'aws:' are reserved for internal use: ${key}`),
} as const;

export type ErrorFactory = keyof typeof Errors;
