/**
 * The shape of the Instance settings dialogs (and of the Volumes page's): a draft of the current value,
 * and a save that calls the API, tells what was done and reports the change (the dialog closes), or
 * keeps the error for the dialog.
 */
import { useEffect, useState } from 'preact/hooks';
import { useNotify } from '../../components/Notifications.js';
import { type Resource, type SubmitState, useResource, useSubmit } from '../../hooks.js';

export interface SettingSave extends SubmitState {
  /** runs `apply`; then notifies `message` (made from what `apply` returned, if a function) and calls onChanged */
  readonly save: <R>(apply: () => Promise<R>, message: string | ((result: R) => string)) => Promise<void>;
}

export function useSettingSave(onChanged: () => void): SettingSave {
  const notify = useNotify();
  const { busy, error, submit } = useSubmit();
  const save = <R>(apply: () => Promise<R>, message: string | ((result: R) => string)) =>
    submit(async () => {
      const result = await apply();
      notify.success(typeof message === 'string' ? message : message(result));
      onChanged();
    });
  return { busy, error, save };
}

export interface SettingForm<T> extends SettingSave {
  /** the current value, as read */
  readonly current: Resource<T>;
  /** the value being edited: the current one once it is known, undefined before */
  readonly draft: T | undefined;
  readonly setDraft: (value: T) => void;
  /** whether the draft differs from the current value */
  readonly changed: boolean;
  /** save with the draft (nothing happens before it is known) */
  readonly saveDraft: (apply: (draft: T) => Promise<unknown>, message: (draft: T) => string) => Promise<void>;
}

/** A setting edited as one value: the current value is read with `load` (see useResource) and becomes the draft once known. */
export function useSettingForm<T>(load: () => Promise<T>, deps: readonly unknown[], onChanged: () => void): SettingForm<T> {
  const current = useResource(load, deps);
  const [draft, setDraft] = useState<T>();
  useEffect(() => {
    if (current.data !== undefined && draft === undefined) setDraft(current.data);
  }, [current.data]);
  const changed = draft !== undefined && draft !== current.data;
  const setting = useSettingSave(onChanged);
  const saveDraft = async (apply: (draft: T) => Promise<unknown>, message: (draft: T) => string) => {
    if (draft !== undefined) await setting.save(() => apply(draft), message(draft));
  };
  return { ...setting, current, draft, setDraft, changed, saveDraft };
}
