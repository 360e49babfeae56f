/** Loading, empty and error states, the same everywhere. */
import type { ReactNode } from 'react';
import { Icon, type IconName } from './Icon.js';

/** Grey shimmering lines where content will be. */
export function Skeleton({ lines = 3, label = 'Loading' }: { lines?: number; label?: string }) {
  return (
    <div className="skeleton" role="status" aria-label={label}>
      {Array.from({ length: lines }, (_, i) => (
        <span key={i} className="skeleton-line" />
      ))}
    </div>
  );
}

export function EmptyState({ icon, title, children }: { icon: IconName; title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <Icon name={icon} size={32} />
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-text">{children}</div> : null}
    </div>
  );
}

export function ErrorState({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div className="error-state" role="alert">
      <Icon name="alert" />
      <span>{message}</span>
      {onRetry ? (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** A resource's three states around its content. */
export function Loadable<T>({
  resource,
  onRetry,
  lines,
  children,
}: {
  resource: { data: T | null; error: string | null; loading: boolean };
  onRetry?: () => void;
  lines?: number;
  children: (data: T) => ReactNode;
}) {
  if (resource.data !== null) {
    return (
      <>
        {resource.error ? <ErrorState message={resource.error} onRetry={onRetry} /> : null}
        {children(resource.data)}
      </>
    );
  }
  if (resource.error) return <ErrorState message={resource.error} onRetry={onRetry} />;
  return <Skeleton lines={lines} />;
}
