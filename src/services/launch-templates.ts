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
  checkTemplateName,
  mergeLaunchRequest,
  parseVersion,
  resolveVersion,
  toLaunchTemplate,
} from '../domain/launch-template.js';
import type { Services } from './context.js';
import { storedInScope, tagList } from './tags.js';

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

export function templatesInScope(s: Services, scope: Scope): LaunchTemplateRecord[] {
  const out: LaunchTemplateRecord[] = [];
  for (const t of s.store.resources(KIND)) if (t.account === scope.account && t.region === scope.region) out.push(t);
  return out;
}

export const templateNamed = (s: Services, scope: Scope, name: string): LaunchTemplateRecord | undefined =>
  templatesInScope(s, scope).find((t) => t.name === name);

export function findTemplate(s: Services, scope: Scope, ref: TemplateRef): LaunchTemplateRecord {
  if (ref.by === 'id') {
    const t = storedInScope(s, scope, KIND, ref.value);
    if (!t) throw Errors.launchTemplateIdNotFound(ref.value);
    return t;
  }
  const t = templateNamed(s, scope, ref.value);
  if (!t) throw Errors.launchTemplateNameNotFound(ref.value);
  return t;
}

/** A template's versions, ascending (the store keeps them one row each, apart from the template). */
export const versionsOf = (s: Services, t: LaunchTemplateRecord) => s.store.templateVersions(t.id);

export function view(s: Services, t: LaunchTemplateRecord): LaunchTemplate {
  return toLaunchTemplate(t, versionsOf(s, t), tagList(s.store.tagsOf(t.id) ?? new Map()));
}

/**
 * RunInstances with `LaunchTemplate`: the version it names (`$Default` unless given) merged with the
 * request's own parameters, which win. The result goes through every launch rule like any request.
 */
export function applyLaunchTemplate(
  input: RunInstancesRequest,
  scope: Scope,
  s: Services,
): { readonly request: RunInstancesRequest; readonly launchTemplate?: LaunchTemplateRef } {
  const spec = input.LaunchTemplate;
  if (!spec) return { request: input };
  const ref = templateRef(spec, IN_RUN_INSTANCES);
  const selector = parseVersion(spec.Version ?? '$Default', 'LaunchTemplate.Version');
  const t = findTemplate(s, scope, ref);
  const version = resolveVersion(t, versionsOf(s, t), selector);
  return { request: mergeLaunchRequest(version.data, input), launchTemplate: { id: t.id, version: version.number } };
}
