/**
 * Launch templates: Create/Describe/Modify/Delete LaunchTemplate(s), Create/Describe/Delete
 * LaunchTemplateVersion(s), GetLaunchTemplateData, and the lookup RunInstances uses to launch from a
 * template. Handlers validate in EC2's order (required, syntax, existence, DryRun, conflicts) and
 * commit once; the rules themselves are in domain/launch-template.ts.
 */
import type {
  CreateLaunchTemplateRequest,
  CreateLaunchTemplateResult,
  CreateLaunchTemplateVersionRequest,
  CreateLaunchTemplateVersionResult,
  DeleteLaunchTemplateRequest,
  DeleteLaunchTemplateResult,
  DeleteLaunchTemplateVersionsRequest,
  DeleteLaunchTemplateVersionsResponseErrorItem,
  DeleteLaunchTemplateVersionsResponseSuccessItem,
  DeleteLaunchTemplateVersionsResult,
  DescribeLaunchTemplateVersionsRequest,
  DescribeLaunchTemplateVersionsResult,
  DescribeLaunchTemplatesRequest,
  DescribeLaunchTemplatesResult,
  GetLaunchTemplateDataRequest,
  GetLaunchTemplateDataResult,
  ModifyLaunchTemplateRequest,
  ModifyLaunchTemplateResult,
  RequestLaunchTemplateData,
  TagSpecification,
} from '@aws-sdk/client-ec2';
import { parseToggle } from '../domain/cpu-options.js';
import { Errors } from '../domain/errors.js';
import { CLIENT_TOKEN_SYNTAX, checkText, checkTextDeep, xmlSafeText } from '../domain/text.js';
import { type FilterTable, compileFilters } from '../domain/filters.js';
import { isWellFormedId, newId } from '../domain/ids.js';
import { type InstanceRecord, hasRootVolume, rootVolumeId } from '../domain/instance.js';
import {
  type LaunchTemplateRecord,
  type LaunchTemplateVersionRecord,
  MAX_VERSIONS_PER_TEMPLATE,
  MAX_VERSION_DESCRIPTION,
  type VersionSelector,
  checkTemplateName,
  findVersion,
  inheritData,
  launchTemplateDataOf,
  parseVersion,
  resolveVersion,
  toLaunchTemplateVersion,
} from '../domain/launch-template.js';
import { paginate } from '../domain/paging.js';
import type { FilterInput } from '../domain/filters.js';
import { quotasOf } from '../services/context.js';
import { type Handler, checkDryRun, requestFingerprint, required } from './context.js';
import { instanceCpuCredits, isBurstable } from '../services/credit-specifications.js';
import { findInstances } from '../services/instances.js';
import {
  TOP_LEVEL,
  findTemplate,
  optionalTemplateRef,
  templateRef,
  templatesInScope,
  versionNamed,
  versionsOf,
  view,
  views,
} from '../services/launch-templates.js';
import { instanceNetworkOf } from '../services/network.js';
import { tagMapOf, tagsFromSpecifications } from '../services/tags.js';

const KIND = 'launch-template';
/** EC2's limits: client tokens of CreateLaunchTemplate(Version), versions per DeleteLaunchTemplateVersions call. */
const MAX_CLIENT_TOKEN = 128;
const MAX_VERSIONS_PER_DELETE = 200;
/** EC2's 10,000 versions per template; tests lower it to reach it quickly (setMaxVersionsPerTemplate). */
let maxVersionsPerTemplate = MAX_VERSIONS_PER_TEMPLATE;

/** Sets the versions-per-template cap (tests); returns a function that restores the previous one. */
export function setMaxVersionsPerTemplate(limit: number): () => void {
  const previous = maxVersionsPerTemplate;
  maxVersionsPerTemplate = limit;
  return () => {
    maxVersionsPerTemplate = previous;
  };
}
const PAGE_LIMITS = { min: 1, max: 200 };

// --- shared checks ----------------------------------------------------------------------------------

/** Template data with at least one parameter (the wire cannot tell an empty structure from none). */
const hasData = (data: RequestLaunchTemplateData | undefined): data is RequestLaunchTemplateData =>
  data !== undefined && Object.values(data).some((v) => v !== undefined);

/**
 * What EC2 checks in template data at creation: value syntax only. Whether the type supports the CPU
 * options, the image exists and so on is checked when an instance is launched from it.
 */
function checkTemplateData(data: RequestLaunchTemplateData): void {
  parseToggle(data.CpuOptions?.NestedVirtualization, 'launchTemplateData.cpuOptions.nestedVirtualization');
  parseToggle(data.CpuOptions?.AmdSevSnp, 'launchTemplateData.cpuOptions.amdSevSnp');
  tagsFromSpecifications(data.TagSpecifications as TagSpecification[] | undefined, 'instance');
  // Kept as given and written back by DescribeLaunchTemplateVersions: every string must be sendable.
  checkTextDeep(data, 'launchTemplateData');
}

function checkDescription(description: string | undefined): void {
  if (description !== undefined && description.length > MAX_VERSION_DESCRIPTION) {
    throw Errors.invalidValueFor('VersionDescription', description, `Version descriptions are at most ${MAX_VERSION_DESCRIPTION} characters.`);
  }
  checkText(description, 'VersionDescription');
}

function checkClientToken(token: string | undefined): void {
  if (token !== undefined && (token.length > MAX_CLIENT_TOKEN || !CLIENT_TOKEN_SYNTAX.test(token))) {
    throw Errors.invalidValueFor('ClientToken', xmlSafeText(token), `The client token must be at most ${MAX_CLIENT_TOKEN} ASCII characters.`);
  }
}

/** CreateLaunchTemplate's own tags: only the template itself can be tagged here. */
function templateTags(specs: readonly TagSpecification[] | undefined) {
  for (const spec of specs ?? []) {
    const type = required(spec.ResourceType, 'TagSpecification.N.ResourceType');
    if (type !== KIND) throw Errors.launchTemplateTagResourceType(type);
  }
  return tagsFromSpecifications(specs, KIND, [KIND]);
}

// --- CreateLaunchTemplate ---------------------------------------------------------------------------

/**
 * The ClientToken replay, the name check and the quota check read the account's templates in the region
 * and the write follows under its launch-template lock, so concurrent creates neither exceed the quota
 * nor both take one token. (Two creates of one name also meet the store's unique constraint on names:
 * the loser's request runs again and answers AlreadyExistsException.)
 */
export const createLaunchTemplate: Handler<CreateLaunchTemplateRequest, CreateLaunchTemplateResult> = async (input, ctx, s) => {
  const name = required(input.LaunchTemplateName, 'LaunchTemplateName');
  const data = input.LaunchTemplateData;
  if (!hasData(data)) throw Errors.launchTemplateDataMissing();
  checkTemplateName(name);
  checkDescription(input.VersionDescription);
  checkClientToken(input.ClientToken);
  checkTemplateData(data);
  const tags = templateTags(input.TagSpecifications);
  const token = input.ClientToken;
  const print = requestFingerprint(input);
  const templateLimit = quotasOf(s, ctx.account).launchTemplates;
  const now = s.now().toISOString();
  const t: LaunchTemplateRecord = {
    id: newId('launchTemplate'),
    account: ctx.account,
    region: ctx.region,
    name,
    createTime: now,
    createdBy: `arn:aws:iam::${ctx.account}:root`,
    defaultVersion: 1,
    lastVersionNumber: 1,
    clientToken: token,
    fingerprint: token === undefined ? undefined : print,
  };
  const first: LaunchTemplateVersionRecord = { number: 1, description: input.VersionDescription, createTime: now, data };
  const replayed = await s.store.transaction(
    async (tx) => {
      const all = await templatesInScope(s, ctx, tx);
      const earlier = token === undefined ? undefined : all.find((x) => x.clientToken === token);
      if (earlier && earlier.fingerprint !== print) throw Errors.idempotentParameterMismatch(token!);
      checkDryRun(input);
      if (earlier) return earlier;
      if (all.some((x) => x.name === name)) throw Errors.launchTemplateNameInUse(name);
      if (all.length >= templateLimit) throw Errors.launchTemplateLimitExceeded(templateLimit);
      tx.write({
        putResources: [{ kind: KIND, doc: t }],
        putTemplateVersions: [{ templateId: t.id, version: first }],
        putTags: tags.map((tag) => ({
          resourceId: t.id,
          resourceType: KIND,
          account: ctx.account,
          region: ctx.region,
          key: tag.key,
          value: tag.value,
        })),
      });
      return undefined;
    },
    { lock: `launch-templates:${ctx.account}:${ctx.region}` },
  );
  if (replayed) return { LaunchTemplate: (await views(s, [replayed]))[0]! };
  return { LaunchTemplate: view(t, first.number, tagMapOf(tags)) };
};

// --- CreateLaunchTemplateVersion --------------------------------------------------------------------

/**
 * The new version's number follows the template's lastVersionNumber, and the template is written back
 * with it: a conditional write, so of two concurrent calls one fails with a StoreConflict and runs
 * again with the next number — no two versions ever get the same one.
 */
export const createLaunchTemplateVersion: Handler<CreateLaunchTemplateVersionRequest, CreateLaunchTemplateVersionResult> = async (
  input,
  ctx,
  s,
) => {
  const ref = templateRef(input, TOP_LEVEL);
  const given = input.LaunchTemplateData ?? {};
  // A new version needs data of its own unless it is a copy of another version.
  if (!hasData(given) && input.SourceVersion === undefined) throw Errors.missingParameter('LaunchTemplateData');
  const source = input.SourceVersion === undefined ? undefined : parseVersion(input.SourceVersion, 'SourceVersion');
  checkDescription(input.VersionDescription);
  checkClientToken(input.ClientToken);
  checkTemplateData(given);
  const t = await findTemplate(s, ctx, ref);
  // One version, the count and a ClientToken's version are read, never all of them (a template may have 10,000).
  const base = source === undefined ? undefined : await versionNamed(s, t, source);
  const token = input.ClientToken;
  const print = requestFingerprint(input);
  const replayed = token === undefined ? undefined : await s.store.templateVersionByToken(t.id, token);
  if (replayed && replayed.fingerprint !== print) throw Errors.idempotentParameterMismatch(token!);
  checkDryRun(input);
  if (replayed) return { LaunchTemplateVersion: toLaunchTemplateVersion(t, replayed) };
  const count = (await s.store.templateVersionStats([t.id])).get(t.id)?.count ?? 0;
  if (count >= maxVersionsPerTemplate) throw Errors.launchTemplateVersionLimitExceeded(t.id, maxVersionsPerTemplate);

  const version: LaunchTemplateVersionRecord = {
    number: t.lastVersionNumber + 1,
    description: input.VersionDescription,
    createTime: s.now().toISOString(),
    data: inheritData(base?.data, given),
    clientToken: token,
    fingerprint: token === undefined ? undefined : print,
  };
  // One new row for the version; the template's own (small) document only records the number given.
  // `next` keeps the `rev` the template was read with: the write applies only if nobody changed it since.
  const next: LaunchTemplateRecord = { ...t, lastVersionNumber: version.number };
  await s.store.commit({ putResources: [{ kind: KIND, doc: next }], putTemplateVersions: [{ templateId: t.id, version }] });
  return { LaunchTemplateVersion: toLaunchTemplateVersion(next, version) };
};

// --- DescribeLaunchTemplates ------------------------------------------------------------------------

/** Whether filters look at tags (so the candidates' tags must be read before filtering). */
const filtersOnTags = (filters: readonly FilterInput[] | undefined): boolean =>
  (filters ?? []).some((f) => f.Name !== undefined && (f.Name.startsWith('tag:') || f.Name === 'tag-key' || f.Name === 'tag-value'));

/** `tagsOf`: the templates' tags, read beforehand. */
function templateFilters(tagsOf: (id: string) => ReadonlyMap<string, string> | undefined): FilterTable<LaunchTemplateRecord> {
  return {
    tags: (t) => tagsOf(t.id),
    fields: {
      'create-time': (t) => t.createTime,
      'launch-template-name': (t) => t.name,
    },
  };
}

export const describeLaunchTemplates: Handler<DescribeLaunchTemplatesRequest, DescribeLaunchTemplatesResult> = async (
  input,
  ctx,
  s,
) => {
  const ids = input.LaunchTemplateIds ?? [];
  const names = input.LaunchTemplateNames ?? [];
  for (const id of ids) if (!isWellFormedId('launchTemplate', id)) throw Errors.launchTemplateIdMalformed(id);
  for (const name of names) checkTemplateName(name);
  let tags: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  const predicate = compileFilters(templateFilters((id) => tags.get(id)), input.Filters);
  // Only IDs or only names: the store finds those; both: the templates named either way, from all of them.
  const all = await s.store.resources(KIND, {
    account: ctx.account,
    region: ctx.region,
    ...(names.length === 0 && ids.length > 0 ? { ids } : {}),
    ...(ids.length === 0 && names.length > 0 ? { names } : {}),
  });
  const missingIds = ids.filter((id) => !all.some((t) => t.id === id));
  if (missingIds.length > 0) throw Errors.launchTemplatesNotFound('id', missingIds);
  const missingNames = names.filter((name) => !all.some((t) => t.name === name));
  if (missingNames.length > 0) throw Errors.launchTemplatesNotFound('name', missingNames);
  checkDryRun(input);
  const named = ids.length > 0 || names.length > 0;
  const candidates = named ? all.filter((t) => ids.includes(t.id) || names.includes(t.name)) : all;
  if (filtersOnTags(input.Filters)) tags = await s.store.tagsOfMany(candidates.map((t) => t.id));
  const matching = candidates.filter(predicate);
  const page = paginate(matching, input, PAGE_LIMITS, { f: input.Filters, ids, names });
  return {
    LaunchTemplates: await views(s, page.items),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

// --- DescribeLaunchTemplateVersions -----------------------------------------------------------------

interface VersionItem {
  readonly t: LaunchTemplateRecord;
  readonly v: LaunchTemplateVersionRecord;
}

const versionFilters: FilterTable<VersionItem> = {
  fields: {
    'create-time': ({ v }) => v.createTime,
    'ebs-optimized': ({ v }) => v.data.EbsOptimized,
    'http-endpoint': ({ v }) => v.data.MetadataOptions?.HttpEndpoint,
    // The metadata service's IPv4 endpoint is its HTTP endpoint.
    'http-protocol-ipv4': ({ v }) => v.data.MetadataOptions?.HttpEndpoint,
    'http-tokens': ({ v }) => v.data.MetadataOptions?.HttpTokens,
    'host-resource-group-arn': ({ v }) => v.data.Placement?.HostResourceGroupArn,
    'iam-instance-profile': ({ v }) => [v.data.IamInstanceProfile?.Arn, v.data.IamInstanceProfile?.Name],
    'image-id': ({ v }) => v.data.ImageId,
    'instance-type': ({ v }) => v.data.InstanceType,
    'is-default-version': ({ t, v }) => v.number === t.defaultVersion,
    'kernel-id': ({ v }) => v.data.KernelId,
    'license-configuration-arn': ({ v }) => (v.data.LicenseSpecifications ?? []).map((l) => l.LicenseConfigurationArn),
    'network-card-index': ({ v }) => (v.data.NetworkInterfaces ?? []).map((n) => n.NetworkCardIndex),
    'ram-disk-id': ({ v }) => v.data.RamDiskId,
  },
};

function versionBound(value: string | undefined, param: string): number | undefined {
  if (value === undefined) return undefined;
  return parseVersion(value, param, false) as number;
}

export const describeLaunchTemplateVersions: Handler<
  DescribeLaunchTemplateVersionsRequest,
  DescribeLaunchTemplateVersionsResult
> = async (input, ctx, s) => {
  const ref = optionalTemplateRef(input, TOP_LEVEL);
  const selectors = (input.Versions ?? []).map((v) => parseVersion(v, 'LaunchTemplateVersion'));
  // Across all templates only `$Latest` and `$Default` mean anything.
  const number = selectors.find((v) => typeof v === 'number');
  if (!ref && number !== undefined) {
    throw Errors.invalidValueFor(
      'LaunchTemplateVersion',
      number,
      'Version numbers need a launch template ID or name; across all templates use $Latest or $Default.',
    );
  }
  const min = versionBound(input.MinVersion, 'MinVersion');
  const max = versionBound(input.MaxVersion, 'MaxVersion');
  const predicate = compileFilters(versionFilters, input.Filters);
  const templates = ref ? [await findTemplate(s, ctx, ref)] : await templatesInScope(s, ctx);
  const versionLists = await Promise.all(templates.map((t) => versionsOf(s, t)));
  if (ref) for (const v of selectors) resolveVersion(templates[0]!, versionLists[0]!, v);
  checkDryRun(input);

  const items: VersionItem[] = [];
  for (const [i, t] of templates.entries()) {
    const versions = versionLists[i]!;
    const chosen: LaunchTemplateVersionRecord[] =
      selectors.length === 0 ? versions.slice().reverse() : unique(selectors.map((sel: VersionSelector) => findVersion(t, versions, sel)));
    // Newest first, as EC2 lists them.
    chosen.sort((a, b) => b.number - a.number);
    for (const v of chosen) {
      if ((min === undefined || v.number >= min) && (max === undefined || v.number <= max)) items.push({ t, v });
    }
  }
  const matching = items.filter(predicate);
  const page = paginate(matching, input, PAGE_LIMITS, {
    f: input.Filters,
    t: ref,
    v: input.Versions,
    min: input.MinVersion,
    max: input.MaxVersion,
  });
  return {
    LaunchTemplateVersions: page.items.map(({ t, v }) => toLaunchTemplateVersion(t, v)),
    ...(page.nextToken ? { NextToken: page.nextToken } : {}),
  };
};

function unique(versions: readonly (LaunchTemplateVersionRecord | undefined)[]): LaunchTemplateVersionRecord[] {
  return [...new Set(versions.filter((v): v is LaunchTemplateVersionRecord => v !== undefined))];
}

// --- ModifyLaunchTemplate ---------------------------------------------------------------------------

/** The template is written back conditionally: a concurrent DeleteLaunchTemplateVersions cannot delete the new default. */
export const modifyLaunchTemplate: Handler<ModifyLaunchTemplateRequest, ModifyLaunchTemplateResult> = async (input, ctx, s) => {
  const ref = templateRef(input, TOP_LEVEL);
  const wanted = input.DefaultVersion === undefined ? undefined : parseVersion(input.DefaultVersion, 'SetDefaultVersion', false);
  const t = await findTemplate(s, ctx, ref);
  const version = wanted === undefined ? undefined : await versionNamed(s, t, wanted);
  checkDryRun(input);
  if (!version || version.number === t.defaultVersion) return { LaunchTemplate: (await views(s, [t]))[0]! };
  const next: LaunchTemplateRecord = { ...t, defaultVersion: version.number };
  await s.store.commit({ putResources: [{ kind: KIND, doc: next }] });
  return { LaunchTemplate: (await views(s, [next]))[0]! };
};

// --- DeleteLaunchTemplate ---------------------------------------------------------------------------

export const deleteLaunchTemplate: Handler<DeleteLaunchTemplateRequest, DeleteLaunchTemplateResult> = async (input, ctx, s) => {
  const ref = templateRef(input, TOP_LEVEL);
  const t = await findTemplate(s, ctx, ref);
  checkDryRun(input);
  const [deleted] = await views(s, [t]);
  // Its versions go with it; its tags too (the store deletes a resource's tags with it).
  await s.store.commit({ deleteResources: [{ kind: KIND, id: t.id }] });
  return { LaunchTemplate: deleted };
};

// --- DeleteLaunchTemplateVersions -------------------------------------------------------------------

/**
 * The template is written back unchanged with the deletions (a conditional write): a concurrent
 * ModifyLaunchTemplate making one of these versions the default, or a CreateLaunchTemplateVersion, makes
 * one of the two run again on what the other wrote.
 */
export const deleteLaunchTemplateVersions: Handler<DeleteLaunchTemplateVersionsRequest, DeleteLaunchTemplateVersionsResult> = async (
  input,
  ctx,
  s,
) => {
  const ref = templateRef(input, TOP_LEVEL);
  const requested = required(input.Versions, 'LaunchTemplateVersion');
  if (requested.length > MAX_VERSIONS_PER_DELETE) {
    throw Errors.invalidValueFor(
      'LaunchTemplateVersion',
      requested.length,
      `At most ${MAX_VERSIONS_PER_DELETE} versions can be deleted in one request; DeleteLaunchTemplate deletes them all.`,
    );
  }
  const numbers = [...new Set(requested.map((v) => parseVersion(v, 'LaunchTemplateVersion', false) as number))];
  const t = await findTemplate(s, ctx, ref);
  checkDryRun(input);

  const existing = await Promise.all(numbers.map((n) => s.store.templateVersion(t.id, n)));
  const names = { LaunchTemplateId: t.id, LaunchTemplateName: t.name };
  const deleted: DeleteLaunchTemplateVersionsResponseSuccessItem[] = [];
  const refused: DeleteLaunchTemplateVersionsResponseErrorItem[] = [];
  for (const [i, n] of numbers.entries()) {
    if (!existing[i]) {
      refused.push({
        ...names,
        VersionNumber: n,
        ResponseError: { Code: 'launchTemplateVersionDoesNotExist', Message: `Launch template version ${n} does not exist.` },
      });
    } else if (n === t.defaultVersion) {
      refused.push({
        ...names,
        VersionNumber: n,
        ResponseError: {
          Code: 'unexpectedError',
          Message: `Version ${n} is the default version and cannot be deleted. Make another version the default first, or delete the launch template.`,
        },
      });
    } else deleted.push({ ...names, VersionNumber: n });
  }
  if (deleted.length > 0) {
    await s.store.commit({
      putResources: [{ kind: KIND, doc: t }],
      deleteTemplateVersions: deleted.map((d) => ({ templateId: t.id, number: d.VersionNumber! })),
    });
  }
  return { SuccessfullyDeletedLaunchTemplateVersions: deleted, UnsuccessfullyDeletedLaunchTemplateVersions: refused };
};

// --- GetLaunchTemplateData --------------------------------------------------------------------------

export const getLaunchTemplateData: Handler<GetLaunchTemplateDataRequest, GetLaunchTemplateDataResult> = async (input, ctx, s) => {
  const id = required(input.InstanceId, 'InstanceId');
  const [rec] = (await findInstances(s, ctx, [id])) as [InstanceRecord];
  checkDryRun(input);
  const network = instanceNetworkOf(rec);
  const volumeId = rootVolumeId(rec);
  const tags = await s.store.tagsOfMany(hasRootVolume(rec) ? [rec.id, volumeId] : [rec.id]);
  return {
    LaunchTemplateData: launchTemplateDataOf({
      rec,
      tags: tags.get(rec.id),
      volumeTags: tags.get(volumeId),
      subnetId: network.subnetId,
      securityGroupIds: network.securityGroups.map((g) => g.GroupId!),
      ...(isBurstable(rec, s) ? { cpuCredits: instanceCpuCredits(rec, s) } : {}),
    }),
  };
};
