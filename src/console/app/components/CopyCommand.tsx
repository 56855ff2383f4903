/**
 * A shell command to copy: the command itself (selectable, in a monospace box) and a Copy button.
 * The clipboard API needs a secure context (https or localhost); on a plain-http origin the command
 * is copied through a selection instead, and when even that is refused it is left selected, with a
 * note to press Ctrl+C. The outcome is announced in a status region.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';

type Outcome = 'copied' | 'select';

async function copyText(text: string, near: HTMLElement): Promise<boolean> {
  try {
    if (window.isSecureContext && navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // refused (no permission, page not focused): try the selection below
  }
  // Inside a modal <dialog> everything outside it is inert, so the scratch field goes next to the button.
  const scratch = document.createElement('textarea');
  scratch.value = text;
  scratch.readOnly = true;
  scratch.className = 'visually-hidden';
  near.append(scratch);
  scratch.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  scratch.remove();
  return ok;
}

function selectContents(el: HTMLElement): void {
  const range = document.createRange();
  range.selectNodeContents(el);
  const selection = getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

export function CopyCommand(props: {
  /** what the command is, for the button's name: "Copy <label>" */
  label: string;
  command: string;
  autofocus?: boolean;
  testId?: string;
}) {
  const id = useId();
  const root = useRef<HTMLDivElement>(null);
  const code = useRef<HTMLElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const [outcome, setOutcome] = useState<Outcome>();
  // A changed command has not been copied.
  useEffect(() => setOutcome(undefined), [props.command]);

  const copy = async () => {
    const ok = await copyText(props.command, root.current!);
    button.current?.focus();
    if (!ok && code.current) selectContents(code.current);
    setOutcome(ok ? 'copied' : 'select');
  };

  return (
    <div class="command" ref={root}>
      <code class="command-text" id={id} ref={code} data-testid={props.testId}>
        {props.command}
      </code>
      <div class="command-actions">
        <button
          ref={button}
          type="button"
          class="button button-small"
          aria-label={`Copy ${props.label}`}
          aria-describedby={id}
          autofocus={props.autofocus}
          onClick={() => void copy()}
        >
          Copy
        </button>
        <span class={outcome === 'select' ? 'command-note' : 'command-note command-note-ok'} role="status">
          {outcome === 'copied' ? 'Copied' : outcome === 'select' ? 'Selected: press Ctrl+C (⌘C) to copy' : ''}
        </span>
      </div>
    </div>
  );
}
