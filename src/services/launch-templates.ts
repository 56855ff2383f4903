/**
 * Launch template lookups: how a request names a template (ID or name), the caller's templates and
 * their versions, the API's view of a template, and the merge RunInstances uses to launch from one.
 */
import type { LaunchTemplate, RunInstancesRequest } from '@aws-sdk/client-ec2';
import { Errors } from '../domain/errors.js';
import { isWellFormedId } from '../domain/ids.js';
import type { Scope } from '../domain/instance.js';
import {
  type LaunchTemplateRecord,
  type LaunchTemplateRef,
  type LaunchTemplateVersionRecord,
  type TemplateVersions,
  type VersionSelector,
  checkTemplateName,
  mergeLaunchRequest,
  parseVersion,
  resolveVersion,
  toLaunchTemplate,
} from '../domain/launch-template.js';
import type { Revisioned, StoreReader } from '../store/types.js';
import type { Services } from './context.js';
import { NO_TAGS, storedInScope, tagList } from './tags.js';

const KIND = 'launch-template';

// --- lookups ----------------------------------------------------------------------------------------

/** How a request names one template: by ID or by name, never both. */
export type TemplateRef = { readonly by: 'id'; readonly value: string } | { readonly by: 'name'; readonly value: string };

interface RefParams {
  readonly id: string;
  readonly name: string;
}

export const TOP_LEVEL: RefParams = { id: 'LaunchTemplateId', name: 'LaunchTemplateName' };
const IN_RUN_INSTANCES: RefParams = { id: 'LaunchTemplate.LaunchTemplateId', name: 'LaunchTemplate.LaunchTemplateName' };

/** The template a request names with exactly one of ID and name, well-formed; undefined when it names none. */
export function optionalTemplateRef(
  input: { readonly LaunchTemplateId?: string | undefined; readonly LaunchTemplateName?: string | undefined },
  params: RefParams,
): TemplateRef | undefined {
  const { LaunchTemplateId: id, LaunchTemplateName: name } = input;
  if (id !== undefined && name !== undefined) {
    throw Errors.invalidParameterCombination(`The parameter ${params.name} cannot be used with the parameter ${params.id}`);
  }
  if (id !== undefined) {
    if (!isWellFormedId('launchTemplate', id)) throw Errors.launchTemplateIdMalformed(id);
    return { by: 'id', value: id };
  }
  if (name !== undefined) {
    checkTemplateName(name);
    return { by: 'name', value: name };
  }
  return undefined;
}

export function templateRef(input: Parameters<typeof optionalTemplateRef>[0], params: RefParams): TemplateRef {
  const ref = optionalTemplateRef(input, params);
  if (!ref) throw Errors.missingParameter(`${params.id} or ${params.name}`);
  return ref;
}

/** The caller's templates, in creation order. `reader`: a transaction's, for a check its write depends on. */
export function templatesInScope(
  s: Services,
  scope: Scope,
  reader: StoreReader = s.store,
): Promise<(LaunchTemplateRecord & Revisioned)[]> {
  return reader.resources(KIND, { account: scope.account, region: scope.region });
}

export async function templateNamed(
  s: Services,
  scope: Scope,
  name: string,
  reader: StoreReader = s.store,
): Promise<(LaunchTemplateRecord & Revisioned) | undefined> {
  const [t] = await reader.resources(KIND, { account: scope.account, region: scope.region, names: [name] });
  return t;
}

/** The template a request names, with its `rev` (a write of it is conditional), or the EC2 error. */
export async function findTemplate(s: Services, scope: Scope, ref: TemplateRef): Promise<LaunchTemplateRecord & Revisioned> {
  if (ref.by === 'id') {
    const t = await storedInScope(s, scope, KIND, ref.value);
    if (!t) throw Errors.launchTemplateIdNotFound(ref.value);
    return t;
  }
  const t = await templateNamed(s, scope, ref.value);
  if (!t) throw Errors.launchTemplateNameNotFound(ref.value);
  return t;
}

/** A template's versions, ascending (the store keeps them one row each, apart from the template). */
export const versionsOf = (s: Services, t: LaunchTemplateRecord): Promise<TemplateVersions> => s.store.templateVersions(t.id);

/**
 * The version a selector names, or InvalidLaunchTemplateId.VersionNotFound: a number or `$Default` is
 * read alone, `$Latest` from the template's versions.
 */
export async function versionNamed(s: Services, t: LaunchTemplateRecord, selector: VersionSelector): Promise<LaunchTemplateVersionRecord> {
  if (selector === '$Latest') {
    const latest = (await s.store.templateVersionStats([t.id])).get(t.id)?.latest;
    const one = latest === undefined ? undefined : await s.store.templateVersion(t.id, latest);
    return resolveVersion(t, one ? [one] : [], selector);
  }
  const one = await s.store.templateVersion(t.id, selector === '$Default' ? t.defaultVersion : selector);
  return resolveVersion(t, one ? [one] : [], selector);
}

/** The API's view of a template, given its highest version number and its tags. */
export function view(t: LaunchTemplateRecord, latest: number | undefined, tags: ReadonlyMap<string, string>): LaunchTemplate {
  return toLaunchTemplate(t, latest, tagList(tags));
}

/** The API's views of several templates: their tags and version numbers read at once, not their versions. */
export async function views(s: Services, templates: readonly LaunchTemplateRecord[]): Promise<LaunchTemplate[]> {
  if (templates.length === 0) return [];
  const ids = templates.map((t) => t.id);
  const [tags, stats] = await Promise.all([s.store.tagsOfMany(ids), s.store.templateVersionStats(ids)]);
  return templates.map((t) => view(t, stats.get(t.id)?.latest, tags.get(t.id) ?? NO_TAGS));
}

/**
 * RunInstances with `LaunchTemplate`: the version it names (`$Default` unless given) merged with the
 * request's own parameters, which win. The result goes through every launch rule like any request.
 */
export async function applyLaunchTemplate(
  input: RunInstancesRequest,
  scope: Scope,
  s: Services,
): Promise<{ readonly request: RunInstancesRequest; readonly launchTemplate?: LaunchTemplateRef }> {
  const spec = input.LaunchTemplate;
  if (!spec) return { request: input };
  const ref = templateRef(spec, IN_RUN_INSTANCES);
  const selector = parseVersion(spec.Version ?? '$Default', 'LaunchTemplate.Version');
  const t = await findTemplate(s, scope, ref);
  const version = await versionNamed(s, t, selector);
  return { request: mergeLaunchRequest(version.data, input), launchTemplate: { id: t.id, version: version.number } };
}
