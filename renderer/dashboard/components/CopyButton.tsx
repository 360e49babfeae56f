/** Copies a text (an address, a transaction hash) and says so. */
import { useEffect, useState } from 'react';
import { Icon } from './Icon.js';

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(null), 2000);
    return () => clearTimeout(t);
  }, [copied]);
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <button type="button" className="btn btn-ghost btn-small" onClick={() => void copy()} aria-label={label}>
      <Icon name={copied === 'yes' ? 'check' : 'copy'} size={16} />
      <span aria-live="polite">{copied === 'yes' ? 'Copied' : copied === 'failed' ? 'Select and copy it' : 'Copy'}</span>
    </button>
  );
}
