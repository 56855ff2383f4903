/**
 * A property filter as in EC2's console: one search field (a WAI-ARIA combobox) that suggests
 * properties and then their values, turns `Property = value` into a removable token, and matches any
 * other text as free text while it is typed. "Clear filters" removes everything. The meaning of tokens
 * (which become API filters, how they match) is in list/property-filter.ts.
 */
import { useId, useMemo, useRef, useState } from 'preact/hooks';
import { type Suggestion, type Token, sameToken } from '../list/property-filter.js';
import type { FilterTokens } from '../list/useListView.js';

export function PropertyFilter<R>(props: {
  /** the list's filter (its properties) and its tokens and text */
  filter: FilterTokens<R>;
  label: string;
  placeholder: string;
  /** the rows read: their values are suggested */
  rows: readonly R[];
}) {
  const { tokens, text, setTokens, setText } = props.filter;
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const { parseToken, suggestions, tokenLabel } = props.filter.model;
  const offered = useMemo(() => (open ? suggestions(text, props.rows) : []), [open, text, props.rows, suggestions]);
  const expanded = open && offered.length > 0;

  const addToken = (token: Token) => {
    if (!tokens.some((t) => sameToken(t, token))) setTokens([...tokens, token]);
    setText('');
    setActive(-1);
    setOpen(false);
  };
  const choose = (s: Suggestion) => {
    if (s.kind === 'value') addToken(s.token);
    else {
      setText(s.text);
      setActive(-1);
    }
    input.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    switch (e.key) {
      case 'ArrowDown':
      case 'ArrowUp': {
        e.preventDefault();
        if (!open) setOpen(true);
        const n = offered.length;
        if (n > 0) setActive((a) => (e.key === 'ArrowDown' ? (a + 1) % n : (a - 1 + n) % n));
        return;
      }
      case 'Enter': {
        e.preventDefault();
        const chosen = expanded ? offered[active] : undefined;
        if (chosen) return choose(chosen);
        const token = parseToken(text);
        if (token) addToken(token);
        return;
      }
      case 'Escape':
        if (expanded) {
          e.preventDefault();
          setOpen(false);
          setActive(-1);
        }
        return;
      case 'Backspace':
        if (text === '' && tokens.length > 0) setTokens(tokens.slice(0, -1));
        return;
    }
  };

  const activeId = expanded && active >= 0 ? `${id}-opt-${active}` : undefined;
  return (
    <div class="property-filter">
      <div class="property-filter-field">
        <input
          ref={input}
          type="search"
          class="filter"
          role="combobox"
          // The suggestions are our own listbox, not a <datalist> (Preact's types ask for `list` with this role).
          list={undefined}
          aria-label={props.label}
          aria-autocomplete="list"
          aria-expanded={expanded}
          aria-controls={`${id}-list`}
          aria-activedescendant={activeId}
          aria-describedby={`${id}-help`}
          placeholder={props.placeholder}
          value={text}
          autocomplete="off"
          spellcheck={false}
          onInput={(e) => {
            setText(e.currentTarget.value);
            // Suggestions follow typing (↓ opens them too); an emptied field leaves the rows uncovered.
            setOpen(e.currentTarget.value !== '');
            setActive(-1);
          }}
          onBlur={() => setOpen(false)}
          onKeyDown={onKeyDown}
        />
        <span id={`${id}-help`} class="visually-hidden">
          Type a property such as {props.filter.model.example}, then = and a value, and press Enter; other text is matched as you type.
        </span>
        <ul id={`${id}-list`} role="listbox" aria-label="Suggestions" class="suggestions" hidden={!expanded}>
          {expanded &&
            offered.map((s, i) => (
              <li
                key={`${s.kind} ${s.label}`}
                id={`${id}-opt-${i}`}
                role="option"
                aria-selected={i === active}
                class={i === active ? 'suggestion active' : 'suggestion'}
                // Chosen on pointerdown: the field keeps focus (a click would blur it first and close the list).
                onPointerDown={(e) => {
                  e.preventDefault();
                  choose(s);
                }}
              >
                {s.kind === 'property' ? <span class="suggestion-kind">Property</span> : null}
                {s.label}
              </li>
            ))}
        </ul>
      </div>
      {(tokens.length > 0 || text !== '') && (
        <div class="tokens">
          <ul class="token-list" aria-label="Filters">
            {tokens.map((t) => (
              <li key={tokenLabel(t)} class="token">
                <span>{tokenLabel(t)}</span>
                <button
                  type="button"
                  class="token-remove"
                  aria-label={`Remove filter ${tokenLabel(t)}`}
                  onClick={() => setTokens(tokens.filter((x) => !sameToken(x, t)))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
          <button type="button" class="button button-small" onClick={props.filter.clear}>
            Clear filters
          </button>
        </div>
      )}
    </div>
  );
}
