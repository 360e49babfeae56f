/**
 * A newest-first list read a page at a time (the engine's cursors), as a table: loading and error
 * states (Loadable), an empty state where the page holds nothing, the rows, and a pager under them.
 */
import type { ReactNode } from 'react';
import { Loadable } from './States.js';

/** "← Newer", "Page n · m per page" (announced as it changes), "Older →". */
export function Pager({
  label,
  page,
  perPage,
  hasNewer,
  hasOlder,
  busy,
  onNewer,
  onOlder,
}: {
  /** The navigation's accessible name. */
  label: string;
  /** From 0, the newest page. */
  page: number;
  perPage: number;
  hasNewer: boolean;
  hasOlder: boolean;
  /** A page is being read: both buttons wait. */
  busy: boolean;
  onNewer: () => void;
  onOlder: () => void;
}) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="btn btn-small" disabled={!hasNewer || busy} onClick={onNewer}>
        ← Newer
      </button>
      <span className="muted small" aria-live="polite">
        Page {page + 1} · {perPage} per page
      </span>
      <button type="button" className="btn btn-small" disabled={!hasOlder || busy} onClick={onOlder}>
        Older →
      </button>
    </nav>
  );
}

export function PagedTable<T extends { nextCursor: string | null }, Row>({
  resource,
  onRetry,
  lines,
  rows,
  empty,
  titleId,
  head,
  row,
  pager,
}: {
  resource: { data: T | null; error: string | null; loading: boolean };
  onRetry: () => void;
  /** The loading skeleton's lines. */
  lines: number;
  /** The page's rows. */
  rows: (page: T) => readonly Row[];
  /** What stands instead of the table where the page holds no row. */
  empty: ReactNode;
  /** The id of the heading that names the table. */
  titleId: string;
  /** The header row's cells. */
  head: ReactNode;
  /** One row's `<tr>` (keyed), or a fragment of them. */
  row: (row: Row) => ReactNode;
  pager: { label: string; page: number; perPage: number; onNewer: () => void; onOlder: () => void };
}) {
  return (
    <Loadable resource={resource} onRetry={onRetry} lines={lines}>
      {(data) => {
        const list = rows(data);
        if (list.length === 0) return empty;
        return (
          <>
            <div className="table-wrap">
              <table className="table" aria-labelledby={titleId}>
                <thead>
                  <tr>{head}</tr>
                </thead>
                <tbody>{list.map((r) => row(r))}</tbody>
              </table>
            </div>
            <Pager {...pager} hasNewer={pager.page > 0} hasOlder={Boolean(data.nextCursor)} busy={resource.loading} />
          </>
        );
      }}
    </Loadable>
  );
}
