/** GetPasswordData: a Windows instance's encrypted Administrator password (rules: src/domain/password-data.ts). */
import type { GetPasswordDataRequest, GetPasswordDataResult } from '@aws-sdk/client-ec2';
import type { InstanceRecord } from '../domain/instance.js';
import { passwordDataOf } from '../domain/password-data.js';
import { findInstances } from '../services/instances.js';
import { type Handler, checkDryRun, required } from './context.js';

export const getPasswordData: Handler<GetPasswordDataRequest, GetPasswordDataResult> = async (input, ctx, s) => {
  const id = required(input.InstanceId, 'InstanceId');
  const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
  checkDryRun(input);
  const { passwordData, timestamp } = passwordDataOf(rec, s.now());
  return { InstanceId: rec.id, Timestamp: timestamp, PasswordData: passwordData };
};
