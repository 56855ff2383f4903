/**
 * Tabs as WAI-ARIA's pattern has them: a tablist of buttons with one tab stop (the selected tab), Left
 * and Right (Home, End) move between tabs and select them, and the selected tab's panel alone is drawn
 * (so a tab's reads start when it is opened).
 */
import type { ComponentChildren } from 'preact';
import { useId, useRef } from 'preact/hooks';

export interface TabItem<K extends string> {
  readonly id: K;
  readonly label: ComponentChildren;
}

export function Tabs<K extends string>(props: {
  /** the tablist's accessible name */
  label: string;
  tabs: readonly TabItem<K>[];
  selected: K;
  onSelect: (id: K) => void;
  /** the selected tab's panel */
  children: ComponentChildren;
}) {
  const base = useId();
  const list = useRef<HTMLDivElement>(null);
  const index = Math.max(0, props.tabs.findIndex((t) => t.id === props.selected));
  const move = (to: number) => {
    const n = props.tabs.length;
    const next = props.tabs[((to % n) + n) % n];
    if (!next) return;
    props.onSelect(next.id);
    // Focus follows the selection once the tab is drawn as selected.
    requestAnimationFrame(() => list.current?.querySelector<HTMLElement>(`[data-tab="${next.id}"]`)?.focus());
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const keys: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: props.tabs.length - 1 };
    const to = keys[e.key];
    if (to === undefined) return;
    e.preventDefault();
    move(to);
  };
  return (
    <div class="tabs">
      <div class="tablist" role="tablist" aria-label={props.label} ref={list} onKeyDown={onKeyDown}>
        {props.tabs.map((t) => {
          const selected = t.id === props.selected;
          return (
            <button
              key={t.id}
              type="button"
              role="tab"
              class="tab"
              id={`${base}-tab-${t.id}`}
              data-tab={t.id}
              aria-selected={selected ? 'true' : 'false'}
              aria-controls={`${base}-panel`}
              tabIndex={selected ? 0 : -1}
              onClick={() => props.onSelect(t.id)}
            >
              {t.label}
            </button>
          );
        })}
      </div>
      <div class="tabpanel" role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-tab-${props.selected}`} tabIndex={0}>
        {props.children}
      </div>
    </div>
  );
}
