/**
 * Changing a running or stopped instance's launch options: ModifyInstanceMetadataOptions, and
 * MonitorInstances / UnmonitorInstances (detailed monitoring). Both are refused only for an instance
 * that is shutting down or terminated. EC2 answers a change as under way (`pending`, `disabling`) and
 * DescribeInstances shows it applied; nestbox applies it at once, so the next read shows the result.
 */
import type {
  InstanceMonitoring,
  ModifyInstanceMetadataOptionsRequest,
  ModifyInstanceMetadataOptionsResult,
  MonitorInstancesRequest,
  MonitorInstancesResult,
  UnmonitorInstancesRequest,
  UnmonitorInstancesResult,
} from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import type { InstanceRecord } from '../domain/instance.js';
import { checkNotTerminating } from '../domain/instance-attributes.js';
import { type MetadataOptions, applyMetadataOptions, defaultMetadataOptions, metadataOptionsOf, metadataOptionsView } from '../domain/launch-options.js';
import type { Services } from '../services/context.js';
import { type Handler, type RequestContext, checkDryRun, required } from './context.js';
import { findInstances } from '../services/instances.js';

// --- ModifyInstanceMetadataOptions ------------------------------------------------------------------

export const modifyInstanceMetadataOptions: Handler<ModifyInstanceMetadataOptionsRequest, ModifyInstanceMetadataOptionsResult> = async (
  input,
  ctx,
  s,
) => {
  const id = required(input.InstanceId, 'InstanceId');
  // Syntax first, whatever the instance: the same checks as RunInstances' MetadataOptions.
  applyMetadataOptions(defaultMetadataOptions(undefined), input, '');
  const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
  checkDryRun(input);
  checkNotTerminating(rec);
  const current = metadataOptionsOf(rec);
  const next = applyMetadataOptions(current, input, '');
  const changed = (Object.keys(next) as (keyof MetadataOptions)[]).some((k) => next[k] !== current[k]);
  if (changed) {
    await s.store.commit({ instances: [{ ...rec, metadataOptions: next }] });
  }
  return { InstanceId: rec.id, InstanceMetadataOptions: { State: 'pending', ...metadataOptionsView(next) } };
};

// --- MonitorInstances / UnmonitorInstances ----------------------------------------------------------

/** Turns detailed monitoring on or off for every instance named, or for none when one cannot change. */
async function setMonitoring(
  input: MonitorInstancesRequest | UnmonitorInstancesRequest,
  enable: boolean,
  ctx: RequestContext,
  s: Services,
): Promise<InstanceMonitoring[]> {
  const ids = required(input.InstanceIds, 'InstanceId');
  if ('MetricCategoryIds' in input && input.MetricCategoryIds !== undefined) {
    throw Errors.parameterNotImplemented('MonitorInstances', 'MetricCategoryIds', 'detailed monitoring has no metric categories here');
  }
  const recs = await findInstances(s, ctx, ids);
  checkDryRun(input);
  for (const rec of recs) checkNotTerminating(rec);
  const changing = recs.filter((r) => (r.detailedMonitoring === true) !== enable);
  if (changing.length > 0) {
    await s.store.commit({
      instances: changing.map((r) => {
        const { detailedMonitoring: _, ...rest } = r;
        return enable ? { ...rest, detailedMonitoring: true as const } : rest;
      }),
    });
  }
  // The state of the change as EC2 reports it: under way for those that change, settled for the others.
  return recs.map((r) => ({
    InstanceId: r.id,
    Monitoring: { State: changing.includes(r) ? (enable ? 'pending' : 'disabling') : enable ? 'enabled' : 'disabled' },
  }));
}

export const monitorInstances: Handler<MonitorInstancesRequest, MonitorInstancesResult> = async (input, ctx, s) => ({
  InstanceMonitorings: await setMonitoring(input, true, ctx, s),
});

export const unmonitorInstances: Handler<UnmonitorInstancesRequest, UnmonitorInstancesResult> = async (input, ctx, s) => ({
  InstanceMonitorings: await setMonitoring(input, false, ctx, s),
});
