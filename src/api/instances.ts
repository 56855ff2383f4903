/**
 * Instances: RunInstances, DescribeInstances, DescribeInstanceStatus, Start/Stop/Reboot/Terminate,
 * ModifyInstanceCpuOptions and GetConsoleOutput. Handlers validate in EC2's order (syntax, existence,
 * DryRun, state, capability) and write once, the VM hosts' tasks with the state change. The lookups,
 * views, launch and state-change cores they share with other operations are in src/services/.
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
  SummaryStatus,
  StartInstancesResult,
  StopInstancesRequest,
  StopInstancesResult,
  TerminateInstancesRequest,
  TerminateInstancesResult,
} from '@aws-sdk/client-ec2';
import { parseToggle, resolveCpuSettings } from '../domain/cpu-options.js';
import { Errors } from '../domain/errors.js';
import { CLIENT_TOKEN_SYNTAX, xmlSafeText } from '../domain/text.js';
import { type FilterInput, type FilterTable, compileFilters } from '../domain/filters.js';
import { checkApiProtection } from '../domain/instance-attributes.js';
import type { InstanceRecord } from '../domain/instance.js';
import { checkSpotStop } from '../domain/launch-options.js';
import { STATE_CODES, STATE_REASONS, userInitiated } from '../domain/lifecycle.js';
import { DESCRIBE_PAGE_LIMITS, keysetPaging } from '../domain/paging.js';
import type { Services } from '../services/context.js';
import { type Handler, type RequestContext, checkDryRun, requestFingerprint, required } from './context.js';
import { placeHostStarts } from '../services/hosts.js';
import {
  type InstancePage,
  type InstanceSelection,
  filtersReadTags,
  findInstances,
  instanceFilterTable,
  instanceSelectionOf,
  pageOfInstances,
  type Attached,
  attachedTo,
  reservationOf,
  typeFacts,
} from '../services/instances.js';
import { launchPlanned, planLaunch } from '../services/launch.js';
import { changeStates, placeVmStarts, tasksFor, terminate } from '../services/state-changes.js';

// --- RunInstances -----------------------------------------------------------------------------------

export const runInstances: Handler<RunInstancesRequest, Reservation> = async (input, ctx, s) => {
  const plan = await planLaunch(input, ctx, s);
  const token = input.ClientToken;
  if (token !== undefined && (token.length > 64 || !CLIENT_TOKEN_SYNTAX.test(token))) {
    throw Errors.invalidValueFor('clientToken', xmlSafeText(token), 'The client token must be at most 64 ASCII characters.');
  }
  const print = requestFingerprint(input);
  if (token !== undefined) {
    const previous = await s.store.clientToken(ctx.account, ctx.region, token);
    if (previous) {
      if (previous.fingerprint !== print) throw Errors.idempotentParameterMismatch(token);
      checkDryRun(input);
      const recs = await s.store.instances({ account: ctx.account, region: ctx.region, reservationIds: [previous.reservationId] });
      return reservationOf(s, previous.reservationId, recs, ctx.account);
    }
  }
  const { reservationId, instances, tags, attached } = await launchPlanned(plan, ctx, s, {
    dryRun: input.DryRun,
    clientToken: token === undefined ? undefined : { token, fingerprint: print },
  });
  return reservationOf(s, reservationId, instances, ctx.account, tags, attached);
};

// --- DescribeInstances ------------------------------------------------------------------------------

/**
 * The instances a Describe call lists, one page of them: the named ones (InstanceIds), or those the
 * store finds with the filters it can answer (instanceSelectionOf), in creation order, read in
 * batches until the page is full. `match` is the whole filter engine, so the answer is the same
 * whatever was pushed down. NextToken carries the last instance's `seq` and the query's fingerprint.
 */
async function describedPage(
  input: { readonly MaxResults?: number | undefined; readonly NextToken?: string | undefined },
  ids: readonly string[],
  query: { readonly op: string; readonly filters: readonly FilterInput[] | undefined; readonly [more: string]: unknown },
  ctx: RequestContext,
  s: Services,
  req: { readonly selection: InstanceSelection | undefined; readonly match: (rec: InstanceRecord) => boolean; readonly tags?: Map<string, ReadonlyMap<string, string>> | undefined },
): Promise<{ items: InstanceRecord[]; nextToken: string | undefined }> {
  const named = ids.length > 0 ? await findInstances(s, ctx, ids) : undefined;
  const { op, filters, ...rest } = query;
  const paging = keysetPaging(input, DESCRIBE_PAGE_LIMITS, { op, f: filters, ids, ...rest });
  let page: InstancePage;
  if (named) {
    if (req.tags) for (const [id, tags] of await s.store.tagsOfMany(named.map((r) => r.id))) req.tags.set(id, tags);
    const paged = paging.size === undefined ? named : [...named].sort((a, b) => a.seq - b.seq);
    const matching = paged.filter((r) => (paging.after === undefined || r.seq > paging.after) && req.match(r));
    page = paging.size === undefined ? { items: matching, more: false } : { items: matching.slice(0, paging.size), more: matching.length > paging.size };
  } else if (req.selection === undefined) {
    page = { items: [], more: false };
  } else {
    page = await pageOfInstances(s, ctx, { selection: req.selection, afterSeq: paging.after, size: paging.size, match: req.match, tags: req.tags });
  }
  const last = page.items[page.items.length - 1];
  return { items: page.items, nextToken: page.more && last ? paging.tokenAfter(last.seq) : undefined };
}

export const describeInstances: Handler<DescribeInstancesRequest, DescribeInstancesResult> = async (input, ctx, s) => {
  const ids = input.InstanceIds ?? [];
  if (ids.length > 0 && input.MaxResults !== undefined) {
    throw Errors.invalidParameterCombination('The parameter instancesSet cannot be used with the parameter maxResults');
  }
  // The filters read tags from this map, filled before they run (per batch of candidates).
  const filterTags = new Map<string, ReadonlyMap<string, string>>();
  const predicate = compileFilters(instanceFilterTable(filterTags), input.Filters);
  checkDryRun(input);
  const page = await describedPage(input, ids, { op: 'DescribeInstances', filters: input.Filters }, ctx, s, {
    selection: instanceSelectionOf(input.Filters),
    match: predicate,
    tags: filtersReadTags(input.Filters) ? filterTags : undefined,
  });
  // The page's tags and what is attached to its instances, read at once (on PostgreSQL, round trips in parallel).
  const [tags, attached] =
    page.items.length > 0
      ? await Promise.all([s.store.tagsOfMany(page.items.map((r) => r.id)), attachedTo(s, ctx, page.items)])
      : [new Map<string, ReadonlyMap<string, string>>(), new Map<string, Attached>()];
  // Instances are paged; the page is grouped into its reservations, in order of first appearance.
  const reservations = new Map<string, InstanceRecord[]>();
  for (const rec of page.items) {
    const group = reservations.get(rec.reservationId);
    if (group) group.push(rec);
    else reservations.set(rec.reservationId, [rec]);
  }
  return {
    Reservations: await Promise.all([...reservations].map(([id, recs]) => reservationOf(s, id, recs, ctx.account, tags, attached))),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

// --- DescribeInstanceStatus -------------------------------------------------------------------------

function statusOf(rec: InstanceRecord): InstanceStatus {
  const check: SummaryStatus = rec.state === 'running' ? 'ok' : rec.state === 'pending' ? 'initializing' : 'not-applicable';
  const detail = rec.state === 'running' ? [{ Name: 'reachability' as const, Status: 'passed' as const }] : [];
  // A failed VM host (src/compute/vm-host.ts): the system status check fails until the instance starts again, as EC2 reports a failed host.
  const system =
    rec.systemStatus === 'impaired'
      ? { Status: 'impaired' as const, Details: [{ Name: 'reachability' as const, Status: 'failed' as const }] }
      : { Status: check, Details: detail };
  return {
    InstanceId: rec.id,
    AvailabilityZone: rec.availabilityZone,
    InstanceState: { Code: STATE_CODES[rec.state], Name: rec.state },
    InstanceStatus: { Status: check, Details: detail },
    SystemStatus: system,
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

export const describeInstanceStatus: Handler<DescribeInstanceStatusRequest, DescribeInstanceStatusResult> = async (
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
  const all = input.IncludeAllInstances === true;
  // Without IncludeAllInstances only running instances are listed: the store is asked for those only.
  const selection = instanceSelectionOf([...(input.Filters ?? []), ...(all ? [] : [{ Name: 'instance-state-name', Values: ['running'] }])]);
  const page = await describedPage(input, ids, { op: 'DescribeInstanceStatus', filters: input.Filters, all: input.IncludeAllInstances }, ctx, s, {
    selection,
    match: (rec) => (all || rec.state === 'running') && predicate(statusOf(rec)),
  });
  return { InstanceStatuses: page.items.map(statusOf), ...(page.nextToken ? { NextToken: page.nextToken } : {}) };
};

// --- state changes ----------------------------------------------------------------------------------

export const startInstances: Handler<StartInstancesRequest, StartInstancesResult> = async (input, ctx, s) => {
  const { changes } = await changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, {
    action: 'start',
    // EC2 reports the time of the latest start as LaunchTime.
    reason: { stateReason: STATE_REASONS.pending, stateTransitionReason: '', launchTime: s.now().toISOString() },
    admit: async (starting) => {
      const placed = await placeVmStarts(s, await placeHostStarts(s, ctx, starting));
      s.vms.admit(placed);
      return placed;
    },
    tasks: (changed) => tasksFor(changed, 'relaunch'),
    underLaunchLock: true,
  });
  return { StartingInstances: changes };
};

export const stopInstances: Handler<StopInstancesRequest, StopInstancesResult> = async (input, ctx, s) => {
  const hibernate = input.Hibernate === true;
  const reason = hibernate ? STATE_REASONS.userHibernate : STATE_REASONS.userStop;
  const force = input.Force === true;
  const { changes } = await changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, {
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
    tasks: (changed, previous) => [
      ...tasksFor(changed, force ? 'force-stop' : 'stop'),
      // Force on an instance that is already stopping cuts a slow shutdown short.
      ...(force ? tasksFor(previous.filter((r) => r.state === 'stopping'), 'force-stop') : []),
    ],
  });
  return { StoppingInstances: changes };
};

export const rebootInstances: Handler<RebootInstancesRequest, Record<string, never>> = async (input, ctx, s) => {
  // A reboot changes no state; its task is written all the same.
  await changeStates(input.InstanceIds ?? [], ctx, s, input.DryRun, { action: 'reboot', tasks: (_, previous) => tasksFor(previous, 'reboot') });
  return {};
};

export const terminateInstances: Handler<TerminateInstancesRequest, TerminateInstancesResult> = async (input, ctx, s) => ({
  TerminatingInstances: await terminate(input.InstanceIds ?? [], ctx, s, input.DryRun),
});

// --- ModifyInstanceCpuOptions -----------------------------------------------------------------------

export const modifyInstanceCpuOptions: Handler<ModifyInstanceCpuOptionsRequest, ModifyInstanceCpuOptionsResult> = async (
  input,
  ctx,
  s,
) => {
  const id = required(input.InstanceId, 'InstanceId');
  parseToggle(input.NestedVirtualization, 'NestedVirtualization');
  const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
  checkDryRun(input);
  if (rec.state !== 'stopped') throw Errors.notInStoppedState(rec.id);
  const cpu = resolveCpuSettings(
    { facts: typeFacts(s, rec.instanceType), platform: rec.platform, hibernationConfigured: rec.hibernationConfigured },
    { CoreCount: input.CoreCount, ThreadsPerCore: input.ThreadsPerCore, NestedVirtualization: input.NestedVirtualization },
    rec.cpu,
    '',
  );
  if (cpu !== rec.cpu) await s.store.commit({ instances: [{ ...rec, cpu }] });
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
  const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
  checkDryRun(input);
  const output = (await s.vms.consoleOutput(rec)) ?? '';
  // EC2 keeps the most recent 64 KB; `Latest` asks for the newest output only, which is the same here.
  const tail = Buffer.from(output).subarray(-64 * 1024);
  return {
    InstanceId: rec.id,
    Timestamp: s.now(),
    ...(tail.length > 0 ? { Output: tail.toString('base64') } : {}),
  };
};
