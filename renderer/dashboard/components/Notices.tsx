/** Short messages after an action (saved, paused, credited), read out by screen readers. */
import { useEffect } from 'react';
import { useActions, useDashboard } from '../context.js';
import { Icon } from './Icon.js';

const SHOWN_MS = 6000;

function NoticeItem({ id, tone, text }: { id: number; tone: 'success' | 'error' | 'info'; text: string }) {
  const { dismiss } = useActions();
  useEffect(() => {
    const t = setTimeout(() => dismiss(id), tone === 'error' ? SHOWN_MS * 2 : SHOWN_MS);
    return () => clearTimeout(t);
  }, [id, tone, dismiss]);
  return (
    <li className={`notice notice-${tone}`}>
      <Icon name={tone === 'error' ? 'alert' : 'check'} size={18} />
      <span>{text}</span>
      <button type="button" className="notice-close" onClick={() => dismiss(id)} aria-label="Dismiss">
        <Icon name="x" size={16} />
      </button>
    </li>
  );
}

export function Notices() {
  const notices = useDashboard((s) => s.notices);
  return (
    <ul className="notices" aria-live="polite" aria-relevant="additions">
      {notices.map((n) => (
        <NoticeItem key={n.id} {...n} />
      ))}
    </ul>
  );
}
