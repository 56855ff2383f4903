/** The pieces of a details page: cards (sections) of label/value facts. */
import type { ComponentChildren } from 'preact';

/** label, value (absent: –), and optionally the value's `data-field` */
export type Fact = readonly [string, ComponentChildren, string?];

const absent = (value: ComponentChildren) => value === undefined || value === null || value === '';

export function Facts(props: { items: readonly Fact[] }) {
  return (
    <dl class="facts">
      {props.items.map(([label, value, field]) => (
        <div class="fact" key={label}>
          <dt>{label}</dt>
          <dd data-field={field}>{absent(value) ? <span class="muted">–</span> : value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A monospace value, or – when the API gave none (EC2 sends some as empty strings). */
export const mono = (value: string | undefined) => (value ? <span class="mono">{value}</span> : undefined);

export function Section(props: { title: string; id: string; children: ComponentChildren; actions?: ComponentChildren; wide?: boolean }) {
  return (
    <section class={props.wide ? 'card span-all' : 'card'} aria-labelledby={props.id}>
      <div class="card-header">
        <h2 id={props.id}>{props.title}</h2>
        {props.actions}
      </div>
      <div class="card-body">{props.children}</div>
    </section>
  );
}
