/**
 * Instances: RunInstances, DescribeInstances, DescribeInstanceStatus, Start/Stop/Reboot/Terminate,
 * ModifyInstanceCpuOptions and GetConsoleOutput. Handlers validate in EC2's order (syntax, existence,
 * DryRun, state, capability), commit once, then hand the VM work to the reconciler. The lookups, views,
 * launch and state-change cores they share with other operations are in src/services/.
 */
import type {
  DescribeInstanceStatusRequest,
  DescribeInstanceStatusResult,
  DescribeInstancesRequest,
  DescribeInstancesResult,
  GetConsoleOutputRequest,
  GetConsoleOutputResult,
  InstanceStatus,
  ModifyInstanceCpuOptionsRequest,
  ModifyInstanceCpuOptionsResult,
  RebootInstancesRequest,
  Reservation,
  RunInstancesRequest,
  StartInstancesRequest,
  StartInstancesResult,
  StopInstancesRequest,
  StopInstancesResult,
  TerminateInstancesRequest,
  TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import { parseToggle, resolveCpuSettings } from '../domain/cpu-options.js';
import { Errors } from '../domain/errors.js';
import { CLIENT_TOKEN_SYNTAX, xmlSafeText } from '../domain/text.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { checkApiProtection } from '../domain/instance-attributes.js';
import type { InstanceRecord } from '../domain/instance.js';
import { checkSpotStop } from '../domain/launch-options.js';
import { STATE_CODES, STATE_REASONS, userInitiated } from '../domain/lifecycle.js';
import { paginate } from '../domain/paging.js';
import { type Handler, checkDryRun, requestFingerprint, required } from './context.js';
import { placeHostStarts } from '../services/hosts.js';
import { findInstances, instanceFilterTable, reservationOf, typeFacts, visibleInstances } from '../services/instances.js';
import { launchPlanned, planLaunch } from '../services/launch.js';
import { changeStates, terminate } from '../services/state-changes.js';

// --- RunInstances -----------------------------------------------------------------------------------

export const runInstances: Handler<RunInstancesRequest, Reservation> = (input, ctx, s) => {
  const plan = planLaunch(input, ctx, s);
  const token = input.ClientToken;
  if (token !== undefined && (token.length > 64 || !CLIENT_TOKEN_SYNTAX.test(token))) {
    throw Errors.invalidValueFor('clientToken', xmlSafeText(token), 'The client token must be at most 64 ASCII characters.');
  }
  const print = requestFingerprint(input);
  if (token !== undefined) {
    const previous = s.store.clientToken(ctx.account, ctx.region, token);
    if (previous) {
      if (previous.fingerprint !== print) throw Errors.idempotentParameterMismatch(token);
      checkDryRun(input);
      const recs = [...s.store.allInstances()].filter((r) => r.reservationId === previous.reservationId);
      return reservationOf(s, previous.reservationId, recs, ctx.account);
    }
  }
  const { reservationId, instances } = launchPlanned(plan, ctx, s, {
    dryRun: input.DryRun,
    clientToken: token === undefined ? undefined : { token, fingerprint: print },
  });
  return reservationOf(s, reservationId, instances, ctx.account);
};

// --- DescribeInstances ------------------------------------------------------------------------------

export const describeInstances: Handler<DescribeInstancesRequest, DescribeInstancesResult> = (input, ctx, s) => {
  const ids = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const predicate = compileFilters(instanceFilterTable(s), input.Filters);
  checkDryRun(input);
  const candidates = ids.length > 0 ? findInstances(s, ctx, ids) : visibleInstances(s, ctx);
  const matching = candidates.filter(predicate);
  const page = paginate(matching, input, { min: 5, max: 1000 }, { f: input.Filters, ids });
  // Instances are paged; the page is grouped into its reservations, in order of first appearance.
  const reservations = new Map<string, InstanceRecord[]>();
  for (const rec of page.items) {
    const group = reservations.get(rec.reservationId);
    if (group) group.push(rec);
    else reservations.set(rec.reservationId, [rec]);
  }
  return {
    Reservations: [...reservations].map(([id, recs]) => reservationOf(s, id, recs, ctx.account)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

// --- DescribeInstanceStatus -------------------------------------------------------------------------

function statusOf(rec: InstanceRecord): InstanceStatus {
  const check = rec.state === 'running' ? 'ok' : rec.state === 'pending' ? 'initializing' : 'not-applicable';
  const detail = rec.state === 'running' ? [{ Name: 'reachability' as const, Status: 'passed' as const }] : [];
  return {
    InstanceId: rec.id,
    AvailabilityZone: rec.availabilityZone,
    InstanceState: { Code: STATE_CODES[rec.state], Name: rec.state },
    InstanceStatus: { Status: check, Details: detail },
    SystemStatus: { Status: check, Details: detail },
    AttachedEbsStatus: { Status: check, Details: [] },
    Events: [],
  };
}

const statusFilters: FilterTable<InstanceStatus> = {
  fields: {
    'availability-zone': (x) => x.AvailabilityZone,
    'instance-state-name': (x) => x.InstanceState?.Name,
    'instance-state-code': (x) => x.InstanceState?.Code,
    'instance-status.status': (x) => x.InstanceStatus?.Status,
    'instance-status.reachability': (x) => x.InstanceStatus?.Details?.[0]?.Status,
    'system-status.status': (x) => x.SystemStatus?.Status,
    'system-status.reachability': (x) => x.SystemStatus?.Details?.[0]?.Status,
  },
};

export const describeInstanceStatus: Handler<DescribeInstanceStatusRequest, DescribeInstanceStatusResult> = (
  input,
  ctx,
  s,
) => {
  const ids = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
  }
  const predicate = compileFilters(statusFilters, input.Filters);
  checkDryRun(input);
  const recs = ids.length > 0 ? findInstances(s, ctx, ids) : visibleInstances(s, ctx);
  const statuses = recs
    .filter((r) => input.IncludeAllInstances === true || r.state === 'running')
    .map(statusOf)
    .filter(predicate);
  const page = paginate(statuses, input, { min: 5, max: 1000 }, { f: input.Filters, ids, all: input.IncludeAllInstances });
  return { InstanceStatuses: page.items, ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- state changes ----------------------------------------------------------------------------------

export const startInstances: Handler<StartInstancesRequest, StartInstancesResult> = (input, ctx, s) => {
  const { changes, changed } = changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, {
    action: 'start',
    // EC2 reports the time of the latest start as LaunchTime.
    reason: { stateReason: STATE_REASONS.pending, stateTransitionReason: '', launchTime: s.now().toISOString() },
    admit: (starting) => {
      const placed = placeHostStarts(s, ctx, starting);
      s.reconciler.admit(placed);
      return placed;
    },
  });
  s.reconciler.boot(changed, false);
  return { StartingInstances: changes };
};

export const stopInstances: Handler<StopInstancesRequest, StopInstancesResult> = (input, ctx, s) => {
  const hibernate = input.Hibernate === true;
  const reason = hibernate ? STATE_REASONS.userHibernate : STATE_REASONS.userStop;
  const force = input.Force === true;
  const { changes, changed, previous } = changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, {
    action: 'stop',
    reason: { stateReason: reason, stateTransitionReason: userInitiated(s.now()) },
    check: (rec, after) => {
      // A pending instance may be stopped only when it has been running before (a restart, not a launch).
      if (rec.state === 'pending' && !rec.hasRun) throw Errors.neverRan(rec.id);
      // A one-time Spot Instance cannot be stopped; protection refuses starting a stop, not one already
      // under way (Force on a stopping instance still works).
      if (after !== rec) {
        checkSpotStop(rec);
        checkApiProtection(rec, 'stop');
      }
      if (!hibernate) return;
      if (rec.cpu.nestedVirtualization === 'enabled') throw Errors.nestedVirtualizationHibernation();
      if (!rec.hibernationConfigured) throw Errors.unsupportedHibernationStop(rec.id);
    },
  });
  for (const rec of changed) s.reconciler.stop(rec, force);
  // Force on an instance that is already stopping cuts a slow shutdown short.
  if (force) for (const rec of previous) if (rec.state === 'stopping') s.reconciler.stop(rec, true);
  return { StoppingInstances: changes };
};

export const rebootInstances: Handler<RebootInstancesRequest, Record<string, never>> = (input, ctx, s) => {
  const { previous } = changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, { action: 'reboot' });
  for (const rec of previous) s.reconciler.reboot(rec);
  return {};
};

export const terminateInstances: Handler<TerminateInstancesRequest, TerminateInstancesResult> = (input, ctx, s) => ({
  TerminatingInstances: terminate(input.InstanceIds ?? [], ctx, s, input.DryRun),
});

// --- ModifyInstanceCpuOptions -----------------------------------------------------------------------

export const modifyInstanceCpuOptions: Handler<ModifyInstanceCpuOptionsRequest, ModifyInstanceCpuOptionsResult> = (
  input,
  ctx,
  s,
) => {
  const id = required(input.InstanceId, 'InstanceId');
  parseToggle(input.NestedVirtualization, 'NestedVirtualization');
  const [rec] = findInstances(s, ctx, [id]) as [InstanceRecord];
  checkDryRun(input);
  if (rec.state !== 'stopped') throw Errors.notInStoppedState(rec.id);
  const cpu = resolveCpuSettings(
    { facts: typeFacts(s, rec.instanceType), platform: rec.platform, hibernationConfigured: rec.hibernationConfigured },
    { CoreCount: input.CoreCount, ThreadsPerCore: input.ThreadsPerCore, NestedVirtualization: input.NestedVirtualization },
    rec.cpu,
    '',
  );
  if (cpu !== rec.cpu) s.store.commit({ instances: [{ ...rec, cpu }] });
  return {
    InstanceId: rec.id,
    CoreCount: cpu.coreCount,
    ThreadsPerCore: cpu.threadsPerCore,
    ...(cpu.nestedVirtualization ? { NestedVirtualization: cpu.nestedVirtualization } : {}),
  };
};

// --- GetConsoleOutput -------------------------------------------------------------------------------

export const getConsoleOutput: Handler<GetConsoleOutputRequest, GetConsoleOutputResult> = async (input, ctx, s) => {
  const id = required(input.InstanceId, 'InstanceId');
  const [rec] = findInstances(s, ctx, [id]) as [InstanceRecord];
  checkDryRun(input);
  const output = (await s.reconciler.consoleOutput(rec.id)) ?? '';
  // EC2 keeps the most recent 64 KB; `Latest` asks for the newest output only, which is the same here.
  const tail = Buffer.from(output).subarray(-64 * 1024);
  return {
    InstanceId: rec.id,
    Timestamp: s.now(),
    ...(tail.length > 0 ? { Output: tail.toString('base64') } : {}),
  };
};
