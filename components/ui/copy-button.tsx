import { useState } from 'react';
import { Button } from './button';

/** Copies a text to the clipboard and says whether it worked (the clipboard needs a secure context or localhost). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [outcome, setOutcome] = useState<'copied' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setOutcome('copied');
    } catch {
      setOutcome('failed');
    }
  };
  return (
    <span className="inline-flex items-center gap-2">
      <Button variant="secondary" aria-label={label} onClick={copy}>
        Copy
      </Button>
      <span role="status" className="text-xs text-stone-600">
        {outcome === 'copied' && 'Copied'}
        {outcome === 'failed' && 'The browser refused the clipboard: select the text and copy it by hand.'}
      </span>
    </span>
  );
}
