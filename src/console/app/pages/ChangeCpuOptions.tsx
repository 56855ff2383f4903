/**
 * Actions → Instance settings → Change CPU options: core count, threads per core and nested
 * virtualization for a stopped instance, through ModifyInstanceCpuOptions. Only what changed is sent.
 */
import type { Instance } from '@aws-sdk/client-ec2';
import { useState } from 'preact/hooks';
import type { CpuOptionsChange } from '../api.js';
import { ApiErrorAlert } from '../components/Alert.js';
import { FormDialog } from '../components/FormDialog.js';
import { type Toggle, nestedVirtualizationBlocker, nestedVirtualizationOf, platformOf } from '../capabilities.js';
import { useApi } from '../context.js';
import { plural } from '../format.js';
import { useResource } from '../hooks.js';
import { NestedVirtualizationField } from './NestedVirtualizationField.js';
import { useSettingSave } from './settings/useSettingForm.js';

export function ChangeCpuOptions(props: { instance: Instance; onClose: () => void; onChanged: () => void }) {
  const api = useApi();
  const { instance } = props;
  const id = instance.InstanceId ?? '';
  const types = useResource(() => api.instanceTypes(), [api]);
  const info = types.data?.find((t) => t.InstanceType === instance.InstanceType);

  const current = {
    cores: instance.CpuOptions?.CoreCount ?? info?.VCpuInfo?.DefaultCores ?? 1,
    threads: instance.CpuOptions?.ThreadsPerCore ?? info?.VCpuInfo?.DefaultThreadsPerCore ?? 1,
    nested: nestedVirtualizationOf(instance),
  };
  const [cores, setCores] = useState(current.cores);
  const [threads, setThreads] = useState(current.threads);
  const [nested, setNested] = useState<Toggle | ''>(current.nested ?? '');
  const form = useSettingSave(props.onChanged);

  const platform = platformOf(instance);
  const blocker = info && nestedVirtualizationBlocker(info, platform, instance.HibernationOptions?.Configured === true);
  // Until the type's facts are read, Enable waits: it is never offered for a moment and then taken back.
  const checking = types.data === undefined && !types.error ? `Checking whether ${instance.InstanceType} supports nested virtualization…` : undefined;
  const validCores = info?.VCpuInfo?.ValidCores ?? [current.cores];
  const validThreads = info?.VCpuInfo?.ValidThreadsPerCore ?? [current.threads];

  const change: CpuOptionsChange = {
    ...(cores !== current.cores || threads !== current.threads ? { coreCount: cores, threadsPerCore: threads } : {}),
    ...(nested !== '' && nested !== current.nested ? { nestedVirtualization: nested } : {}),
  };
  const unchanged = Object.keys(change).length === 0;

  const save = () =>
    form.save(
      () => api.modifyCpuOptions(id, change),
      (out) =>
        `CPU options of ${id} changed: ${plural(out.CoreCount, 'core')} × ${plural(out.ThreadsPerCore, 'thread')} per core, nested virtualization ${out.NestedVirtualization ?? 'not set'}.`,
    );

  return (
    <FormDialog
      title="Change CPU options"
      onClose={props.onClose}
      onSubmit={save}
      ready={!unchanged}
      state={form}
      errorTitle="ModifyInstanceCpuOptions failed"
    >
      <p class="muted">
        <code>{id}</code> · {instance.InstanceType} · {platform === 'windows' ? 'Windows' : 'Linux'}. The new settings
        apply from the next start.
      </p>
      {types.error && <ApiErrorAlert title="Could not read the instance type" error={types.error} />}
      <div class="field-row">
        <div class="field">
          <label for="cpu-cores">Core count</label>
          <select id="cpu-cores" value={cores} autofocus onChange={(e) => setCores(Number(e.currentTarget.value))}>
            {validCores.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="cpu-threads">Threads per core</label>
          <select id="cpu-threads" value={threads} onChange={(e) => setThreads(Number(e.currentTarget.value))}>
            {validThreads.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <span class="label">vCPUs</span>
          <output class="static-value">{cores * threads}</output>
        </div>
      </div>
      <NestedVirtualizationField
        value={nested}
        onChange={setNested}
        blocker={blocker}
        checking={checking}
        platform={platform}
        unsetLabel={current.nested ? undefined : 'Not set (no change)'}
      />
    </FormDialog>
  );
}
