/** A launch template and its versions as nestbox records them. */
import type { RequestLaunchTemplateData } from '@aws-sdk/client-ec2';
import type { Scope } from './instance.js';

export interface LaunchTemplateVersionRecord {
  readonly number: number;
  readonly description?: string | undefined;
  readonly createTime: string;
  /** the data exactly as given (templates are not validated against instance types at creation) */
  readonly data: RequestLaunchTemplateData;
}

export interface LaunchTemplateRecord extends Scope {
  /** `lt-…` */
  readonly id: string;
  readonly name: string;
  readonly createTime: string;
  /** ARN of the caller, e.g. `arn:aws:iam::000000000000:root` */
  readonly createdBy: string;
  readonly defaultVersion: number;
  readonly latestVersion: number;
  /** in version order; deleted versions are removed */
  readonly versions: readonly LaunchTemplateVersionRecord[];
}
