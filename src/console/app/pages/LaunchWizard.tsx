/**
 * Launch instances: name and tags, image, instance type, key pair, Advanced details (nested
 * virtualization, hibernation, user data) and, in the summary, the number of instances. Choices the API
 * would refuse are explained where they are made and listed in the summary, and Launch waits until
 * they are resolved (launch-rules.ts); one RunInstances call, and whatever the API still refuses is
 * shown as it answered.
 */
import type { Image, InstanceTypeInfo } from '@aws-sdk/client-ec2';
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError, LaunchRequest } from '../api.js';
import { ApiErrorAlert } from '../components/Alert.js';
import { useNotify } from '../components/Notifications.js';
import { type Toggle, architectureOf, platformOf } from '../capabilities.js';
import { useApi, useInstanceStore, useTitle } from '../context.js';
import { count as formatCount, gib, someOf } from '../format.js';
import { asApiError, useResource } from '../hooks.js';
import { checkLaunch, parseInstanceCount } from '../launch-rules.js';
import { href, navigate, pageKey } from '../router.js';
import { ImagePicker } from './launch/ImagePicker.js';
import { KeyPairField } from './launch/KeyPairField.js';
import { type TagDraft, TagsField } from './launch/TagsField.js';
import { TypePicker } from './launch/TypePicker.js';
import { NestedVirtualizationField, WINDOWS_VSM_NOTE } from './NestedVirtualizationField.js';

interface LaunchForm {
  readonly name: string;
  readonly tags: readonly TagDraft[];
  readonly imageId: string;
  readonly instanceType: string;
  readonly keyName: string;
  /** as typed: checked by parseInstanceCount, never rounded or capped */
  readonly count: string;
  readonly nested: Toggle | '';
  readonly hibernation: boolean;
  readonly userData: string;
}

const DEFAULT_IMAGE = 'ami-0b5e4a1f2c3d40001';
const DEFAULT_TYPE = 'c8i.large';

/** The RunInstances request for the form. */
function launchRequest(form: LaunchForm, count: number): LaunchRequest {
  return {
    imageId: form.imageId,
    instanceType: form.instanceType,
    count,
    keyName: form.keyName || undefined,
    tags: [
      ...(form.name.trim() !== '' ? [{ key: 'Name', value: form.name.trim() }] : []),
      ...form.tags.filter((t) => t.key.trim() !== '').map((t) => ({ key: t.key.trim(), value: t.value })),
    ],
    nestedVirtualization: form.nested || undefined,
    hibernation: form.hibernation,
    userData: form.userData || undefined,
  };
}

function Panel(props: { title: string; id: string; children: ComponentChildren; description?: string }) {
  return (
    <section class="card wizard-panel" aria-labelledby={props.id}>
      <div class="card-header">
        <h2 id={props.id}>{props.title}</h2>
      </div>
      <div class="card-body">
        {props.description && <p class="muted">{props.description}</p>}
        {props.children}
      </div>
    </section>
  );
}

export function LaunchWizard(props: { initialType: string | undefined }) {
  useTitle('Launch instances');
  const api = useApi();
  const store = useInstanceStore();
  const notify = useNotify();
  const images = useResource(() => api.images(), [api]);
  const types = useResource(() => api.instanceTypes(), [api]);
  const quota = useResource(() => api.maxInstances(), [api]);
  const [form, setForm] = useState<LaunchForm>({
    name: '',
    tags: [],
    imageId: DEFAULT_IMAGE,
    instanceType: props.initialType ?? DEFAULT_TYPE,
    keyName: '',
    count: '1',
    nested: '',
    hibernation: false,
    userData: '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  // An API refusal is about the request that was sent: any change to the form clears it.
  const update = (change: (f: LaunchForm) => LaunchForm) => {
    setForm(change);
    setError(undefined);
  };
  const set = <K extends keyof LaunchForm>(key: K, value: LaunchForm[K]) => update((f) => ({ ...f, [key]: value }));

  const image: Image | undefined = images.data?.find((i) => i.ImageId === form.imageId);
  const platform = image ? platformOf(image) : 'linux';
  const arch = image?.Architecture ?? 'x86_64';
  const typesForImage = (types.data ?? []).filter((t) => architectureOf(t) === arch);
  const typeInfo: InstanceTypeInfo | undefined = typesForImage.find((t) => t.InstanceType === form.instanceType);

  // What the catalog says, run through the API's own rules (launch-rules.ts, capabilities.ts).
  const countCheck = parseInstanceCount(form.count, quota.data);
  const check = checkLaunch({ typeInfo, platform, nested: form.nested, hibernation: form.hibernation, count: countCheck });
  const { nestedBlocker, hibernationBlocker } = check;
  const nestedRefused = form.nested === 'enabled' && nestedBlocker !== undefined;

  const chooseImage = (imageId: string) => {
    const next = images.data?.find((i) => i.ImageId === imageId);
    const keepsType = (types.data ?? []).some(
      (t) => t.InstanceType === form.instanceType && architectureOf(t) === (next?.Architecture ?? 'x86_64'),
    );
    update((f) => ({ ...f, imageId, instanceType: keepsType ? f.instanceType : '' }));
  };

  const launch = async () => {
    if (busy || !countCheck.ok || check.problems.length > 0) return;
    setBusy(true);
    setError(undefined);
    try {
      const launched = await api.launch(launchRequest(form, countCheck.count));
      // Listed at once, at the top of the list (newest first), before the list reads them itself.
      store.insert(launched);
      const ids = launched.map((i) => i.InstanceId ?? '');
      const some = someOf(ids);
      const onList = pageKey(api.region, { page: 'instances' });
      notify.success(
        <>
          Launched {ids.length === 1 ? 'instance' : `${formatCount(ids.length)} instances`}{' '}
          {some.shown.map((id, n) => (
            <span key={id}>
              {n > 0 && ', '}
              <a href={href({ page: 'instance', id })}>{id}</a>
            </span>
          ))}
          {some.more > 0 && ` and ${formatCount(some.more)} more`}
          {form.nested === 'enabled' ? ' with nested virtualization enabled.' : '.'}
        </>,
        { on: onList },
      );
      navigate({ page: 'instances' });
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };

  const loadError = images.error ?? types.error;
  return (
    // Not a <form>: Enter in a field must not launch anything.
    <section class="page" aria-labelledby="launch-title">
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <a href={href({ page: 'instances' })}>Instances</a> <span aria-hidden="true">›</span> <span>Launch instances</span>
      </nav>
      <div class="page-header">
        <h1 id="launch-title">Launch instances</h1>
      </div>
      {loadError && <ApiErrorAlert title="Could not load images or instance types" error={loadError} />}
      <div class="wizard">
        <div class="wizard-main">
          <Panel title="Name and tags" id="name-title">
            <div class="field">
              <label for="instance-name">Name</label>
              <input
                id="instance-name"
                placeholder="e.g. android-emulator-ci"
                value={form.name}
                onInput={(e) => set('name', e.currentTarget.value)}
              />
            </div>
            <TagsField tags={form.tags} onChange={(tags) => set('tags', tags)} />
          </Panel>

          <Panel title="Application and OS Images (Amazon Machine Image)" id="image-title">
            {images.data ? (
              <>
                <ImagePicker images={images.data} value={form.imageId} onChange={chooseImage} />
                {platform === 'windows' && <p class="field-note image-note">{WINDOWS_VSM_NOTE}</p>}
              </>
            ) : (
              <p class="muted">Loading images…</p>
            )}
          </Panel>

          <Panel title="Instance type" id="type-title">
            {types.data ? (
              <TypePicker types={typesForImage} value={form.instanceType} onChange={(t) => set('instanceType', t)} />
            ) : (
              <p class="muted">Loading instance types…</p>
            )}
          </Panel>

          <Panel title="Key pair (login)" id="key-title" description="Use a key pair to connect to the instance securely.">
            <KeyPairField value={form.keyName} onChange={(k) => set('keyName', k)} />
          </Panel>

          <details class="card wizard-panel advanced">
            <summary>
              <h2>Advanced details</h2>
            </summary>
            <div class="card-body">
              <NestedVirtualizationField
                value={form.nested}
                onChange={(v) => set('nested', v)}
                blocker={nestedBlocker}
                platform={platform}
                unsetLabel="Don't specify (off)"
              />
              <div class="field">
                <span class="label" id="hibernation-label">
                  Stop - Hibernate behavior
                </span>
                <label class="checkbox">
                  <input
                    type="checkbox"
                    checked={form.hibernation}
                    disabled={hibernationBlocker !== undefined && !form.hibernation}
                    aria-describedby={hibernationBlocker ? 'hibernation-blocker' : undefined}
                    onChange={(e) => set('hibernation', e.currentTarget.checked)}
                  />
                  Enable hibernation as an additional stop behavior
                </label>
                {hibernationBlocker && (
                  <p class={form.hibernation ? 'field-error' : 'field-note'} id="hibernation-blocker">
                    {form.hibernation ? "Can't be combined: " : 'Not available: '}
                    {hibernationBlocker}
                  </p>
                )}
              </div>
              <div class="field">
                <label for="user-data">User data</label>
                <textarea
                  id="user-data"
                  rows={4}
                  class="mono"
                  placeholder={'#!/bin/sh\nl2-smoke'}
                  value={form.userData}
                  onInput={(e) => set('userData', e.currentTarget.value)}
                />
                <p class="hint">
                  A script starting with <code>#!</code> runs at boot. The built-in Debian image has <code>l2-smoke</code>, which
                  starts an L2 guest and prints <code>L2 OK</code> when nested virtualization works.
                </p>
              </div>
            </div>
          </details>
        </div>

        <aside class="wizard-summary" aria-labelledby="summary-heading">
          <div class="card">
            <div class="card-header">
              <h2 id="summary-heading">Summary</h2>
            </div>
            <div class="card-body">
              <div class="field">
                <label for="instance-count">Number of instances</label>
                <input
                  id="instance-count"
                  type="text"
                  inputMode="numeric"
                  value={form.count}
                  aria-invalid={!countCheck.ok}
                  aria-describedby={countCheck.ok ? undefined : 'instance-count-error'}
                  onInput={(e) => set('count', e.currentTarget.value)}
                />
                {!countCheck.ok && (
                  <p class="field-error" id="instance-count-error">
                    {countCheck.message}
                  </p>
                )}
              </div>
              <dl class="summary-list">
                <dt>Software image</dt>
                <dd>{image?.Name ?? form.imageId}</dd>
                <dt>Instance type</dt>
                <dd class="mono">
                  {typeInfo
                    ? `${typeInfo.InstanceType} (${typeInfo.VCpuInfo?.DefaultVCpus} vCPU, ${gib(typeInfo.MemoryInfo?.SizeInMiB)} GiB)`
                    : '—'}
                </dd>
                <dt>Nested virtualization</dt>
                <dd data-testid="summary-nested">
                  {nestedRefused
                    ? 'Enabled: not possible'
                    : form.nested === 'enabled'
                      ? 'Enabled'
                      : form.nested === 'disabled'
                        ? 'Disabled'
                        : 'Not specified'}
                </dd>
                <dt>Key pair</dt>
                <dd>{form.keyName || 'None'}</dd>
              </dl>
              {types.data && check.problems.length > 0 && (
                <div class="field-error launch-problems" id="launch-problems" data-testid="launch-problems">
                  <strong>Resolve before launching:</strong>
                  <ul class="plain-list">
                    {check.problems.map((p) => (
                      <li key={p}>{p}</li>
                    ))}
                  </ul>
                </div>
              )}
              {error && <ApiErrorAlert title="RunInstances failed" error={error} />}
              <div class="summary-actions">
                <a class="button" href={href({ page: 'instances' })}>
                  Cancel
                </a>
                <button
                  type="button"
                  class="button button-primary"
                  disabled={busy || check.problems.length > 0}
                  aria-describedby={check.problems.length > 0 ? 'launch-problems' : undefined}
                  onClick={launch}
                >
                  {busy ? 'Launching…' : 'Launch instances'}
                </button>
              </div>
            </div>
          </div>
        </aside>
      </div>
    </section>
  );
}
