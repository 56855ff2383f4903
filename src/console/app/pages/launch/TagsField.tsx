/** Tags as key / value rows: extra tags beside the Name in the launch wizard, or all of them in Manage tags. */
import type { TagInput } from '../../api.js';

export type TagDraft = TagInput;

export function TagsField(props: {
  tags: readonly TagDraft[];
  onChange: (tags: readonly TagDraft[]) => void;
  legend?: string;
  /** shown while there is no row */
  hint?: string;
}) {
  const set = (index: number, patch: Partial<TagDraft>) =>
    props.onChange(props.tags.map((t, i) => (i === index ? { ...t, ...patch } : t)));
  return (
    <fieldset class="field tags-field">
      <legend>{props.legend ?? 'Tags'}</legend>
      {props.tags.length === 0 && <p class="hint">{props.hint ?? 'Tags other than Name, e.g. Purpose = android-emulator.'}</p>}
      {props.tags.map((t, i) => (
        <div class="tag-row" key={i}>
          <input aria-label={`Tag ${i + 1} key`} placeholder="Key" value={t.key} onInput={(e) => set(i, { key: e.currentTarget.value })} />
          <input
            aria-label={`Tag ${i + 1} value`}
            placeholder="Value"
            value={t.value}
            onInput={(e) => set(i, { value: e.currentTarget.value })}
          />
          <button
            type="button"
            class="button button-small"
            aria-label={`Remove tag ${i + 1}`}
            onClick={() => props.onChange(props.tags.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" class="button button-small" onClick={() => props.onChange([...props.tags, { key: '', value: '' }])}>
        Add tag
      </button>
    </fieldset>
  );
}
