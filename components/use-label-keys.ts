import { useEffect, useRef } from 'react';

export interface LabelKeyHandlers {
  /** A number key 1..9. */
  onNumber: (n: number) => void;
  onSubmit: () => void;
  onSkip: () => void;
  onToggleHelp: () => void;
  onToggleInstructions: () => void;
  onEscape: () => void;
}

/** Whether a key press belongs to what the person is typing (inputs, text areas, editable text). */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT';
}

/**
 * The labeling keys, on the whole page: 1..9 choose, Enter submits, S skips, I shows the
 * instructions, ? the keys, Escape closes. Nothing fires while the person types in a field or holds
 * Ctrl, Alt or Meta (browser shortcuts). Enter on a focused button other than a choice keeps its
 * own meaning (it presses that button); on a choice it submits, as everywhere else.
 */
export function useLabelKeys(handlers: LabelKeyHandlers): void {
  // The listener is added once; it always calls the latest handlers.
  const latest = useRef(handlers);
  latest.current = handlers;
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
      if (isTyping(event.target)) return;
      const on = latest.current;
      const key = event.key;
      if (/^[1-9]$/.test(key)) {
        event.preventDefault();
        on.onNumber(Number(key));
      } else if (key === 'Enter') {
        const target = event.target;
        if (target instanceof HTMLButtonElement && target.dataset.choice === undefined) return;
        // Stops a focused choice button from also being pressed by the Enter that submits.
        event.preventDefault();
        on.onSubmit();
      } else if (key === 's' || key === 'S') {
        event.preventDefault();
        on.onSkip();
      } else if (key === 'i' || key === 'I') {
        event.preventDefault();
        on.onToggleInstructions();
      } else if (key === '?') {
        event.preventDefault();
        on.onToggleHelp();
      } else if (key === 'Escape') {
        on.onEscape();
      }
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, []);
}
