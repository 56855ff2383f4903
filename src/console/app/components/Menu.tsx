/**
 * A menu button (WAI-ARIA menu pattern): Enter, Space or ↓ opens it on the first item, ↑ on the last;
 * ↑ ↓ Home End move, Enter activates, Escape closes and returns to the button, Tab leaves. A
 * disabled item stays reachable so its reason can be read.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';

export interface MenuItem {
  readonly label: string;
  readonly onSelect: () => void;
  /** set: the item is disabled, and this says why */
  readonly disabledReason?: string | undefined;
}

export interface MenuGroup {
  /** none: the items stand on their own at the top, like EC2's Actions → Connect */
  readonly label?: string;
  readonly items: readonly MenuItem[];
}

export function MenuButton(props: {
  label: string;
  groups: readonly MenuGroup[];
  disabled?: boolean;
  primary?: boolean;
  /** said once at the top of the menu; items disabled for this same reason point to it instead of repeating it */
  note?: string | undefined;
}) {
  const [open, setOpen] = useState<false | 'first' | 'last'>(false);
  const id = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  const items = () => [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };

  useEffect(() => {
    if (!open) return;
    const all = items();
    (open === 'last' ? all.at(-1) : all[0])?.focus();
    const onPointer = (e: PointerEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointer);
    return () => document.removeEventListener('pointerdown', onPointer);
  }, [open]);

  const onMenuKey = (e: KeyboardEvent) => {
    const all = items();
    const at = all.indexOf(document.activeElement as HTMLElement);
    const focus = (i: number) => {
      e.preventDefault();
      all[(i + all.length) % all.length]?.focus();
    };
    switch (e.key) {
      case 'ArrowDown':
        return focus(at + 1);
      case 'ArrowUp':
        return focus(at - 1);
      case 'Home':
        return focus(0);
      case 'End':
        return focus(all.length - 1);
      case 'Escape':
        e.preventDefault();
        e.stopPropagation();
        return close(true);
      case 'Tab':
        return close(false);
    }
  };

  return (
    <div class="menu-root" ref={root}>
      <button
        ref={button}
        type="button"
        class={props.primary ? 'button button-primary' : 'button'}
        aria-haspopup="menu"
        aria-expanded={open !== false}
        aria-controls={open ? `${id}-menu` : undefined}
        disabled={props.disabled}
        onClick={() => (open ? close(false) : setOpen('first'))}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
            e.preventDefault();
            setOpen(e.key === 'ArrowDown' ? 'first' : 'last');
          }
        }}
      >
        {props.label}
        <span class="caret" aria-hidden="true">
          ▾
        </span>
      </button>
      {open && (
        <div class="menu" onKeyDown={onMenuKey}>
          {props.note && (
            <p class="menu-note" id={`${id}-note`}>
              {props.note}
            </p>
          )}
          <div id={`${id}-menu`} role="menu" aria-label={props.label} ref={menu}>
            {props.groups.map((group, g) => (
              <div
                class="menu-group"
                role={group.label ? 'group' : 'none'}
                aria-labelledby={group.label ? `${id}-g${g}` : undefined}
                key={group.label ?? g}
              >
                {group.label && (
                  <div class="menu-group-label" id={`${id}-g${g}`}>
                    {group.label}
                  </div>
                )}
                {group.items.map((item, i) => {
                  const disabled = item.disabledReason !== undefined;
                  const noted = disabled && item.disabledReason === props.note;
                  const reasonId = noted ? `${id}-note` : `${id}-g${g}-i${i}`;
                  return (
                    <button
                      key={item.label}
                      type="button"
                      role="menuitem"
                      tabIndex={-1}
                      class="menu-item"
                      aria-disabled={disabled}
                      aria-describedby={disabled ? reasonId : undefined}
                      onClick={() => {
                        if (disabled) return;
                        close(true);
                        item.onSelect();
                      }}
                    >
                      <span class="menu-item-label">{item.label}</span>
                      {/* The reason is the item's description (aria-describedby), not part of its name. */}
                      {disabled && !noted && (
                        <span class="menu-item-reason" id={reasonId} aria-hidden="true">
                          {item.disabledReason}
                        </span>
                      )}
                    </button>
                  );
                })}
              </div>
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
