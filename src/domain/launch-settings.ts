/**
 * What an instance records of its launch options (see src/domain/launch-options.ts for the rules):
 * plain types that import nothing from Node, so InstanceRecord stays usable where Node's modules are
 * not (the web console's bundle and its type check).
 */
import type { Toggle } from './cpu-options.js';

export interface MetadataOptions {
  readonly httpTokens: 'optional' | 'required';
  readonly hopLimit: number;
  readonly httpEndpoint: Toggle;
  readonly httpProtocolIpv6: Toggle;
  readonly instanceMetadataTags: Toggle;
}

export type CpuCredits = 'standard' | 'unlimited';

export interface SpotSettings {
  readonly requestType: 'one-time' | 'persistent';
  readonly interruptionBehavior: 'hibernate' | 'stop' | 'terminate';
  /** as given; nestbox has no Spot prices, so no maximum is ever below the Spot price */
  readonly maxPrice?: string | undefined;
}

export interface PrivateDnsNameSettings {
  readonly hostnameType: 'ip-name' | 'resource-name';
  readonly aRecord: boolean;
  readonly aaaaRecord: boolean;
}

export interface IamInstanceProfileRecord {
  readonly arn: string;
  /** `AIPA…`, derived from the ARN (nestbox has no IAM to ask) */
  readonly id: string;
}
