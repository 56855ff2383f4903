/** Tag edits as the API takes them. */

export interface TagInput {
  readonly key: string;
  readonly value: string;
}

/** What to send to turn `before` into `after`: tags to create or overwrite, keys to delete. */
export function tagChanges(before: readonly TagInput[], after: readonly TagInput[]): { put: TagInput[]; remove: string[] } {
  const kept = after.map((t) => ({ key: t.key.trim(), value: t.value })).filter((t) => t.key !== '');
  const old = new Map(before.map((t) => [t.key, t.value]));
  const put = kept.filter((t) => old.get(t.key) !== t.value);
  const keys = new Set(kept.map((t) => t.key));
  const remove = before.map((t) => t.key).filter((k) => !keys.has(k));
  return { put, remove };
}

/** A Name tag, or none when the name is empty. */
export const nameTags = (name: string): TagInput[] => (name.trim() === '' ? [] : [{ key: 'Name', value: name.trim() }]);
