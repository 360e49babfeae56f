/**
 * Earnings: a chart by hour, day or week; the history (task, kind, GPU time, amount, status) with
 * paging and filters; payouts with their transaction hashes; CSV export.
 */
import { useState } from 'react';
import { SERIES_BUCKETS, type EngineResult, type SeriesBucket } from '../../../protocol/engine-api.js';
import { EarningStatusSchema, type EarningStatus } from '../../../protocol/http.js';
import { BarChart } from '../components/BarChart.js';
import { CopyButton } from '../components/CopyButton.js';
import { Icon } from '../components/Icon.js';
import { EmptyState, Loadable } from '../components/States.js';
import { Segmented } from '../components/Tabs.js';
import { TileThumb } from '../components/TileThumb.js';
import { useActions, useDashboard } from '../context.js';
import { formatDateTime, formatDuration, shortHex, withSymbol } from '../format.js';
import { HISTORY_PAGE, messageOf } from '../store.js';

type Token = { symbol: string; decimals: number };

const STATUS_WORDS: Record<EarningStatus, string> = { pending: 'Pending', verified: 'Verified', paid: 'Paid', rejected: 'Rejected' };
const STATUS_HELP: Record<EarningStatus, string> = {
  pending: 'The hub waits for a second worker to agree before it credits this task.',
  verified: 'Checked and credited; it goes into the next payout.',
  paid: 'Paid to your wallet on chain.',
  rejected: 'The hub found the result wrong: it earned nothing.',
};
const BUCKET_WORDS: Record<SeriesBucket, string> = { hour: 'By hour', day: 'By day', week: 'By week' };

/** Saves text as a file from the page (works the same in a browser and in the desktop app). */
export function download(text: string, filename: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Totals({ totals, token }: { totals: EngineResult<'getEarnings'>['totals']; token: Token }) {
  const items = [
    ['Pending', totals.pending, 'Waiting for a replica to agree'],
    ['Verified', totals.verified, 'Credited, not paid out yet'],
    ['Paid', totals.paid, 'Sent to your wallet'],
  ] as const;
  return (
    <div className="grid-3">
      {items.map(([label, amount, help]) => (
        <section key={label} className="card stat" aria-label={label}>
          <h2 className="stat-label">{label}</h2>
          <p className="stat-value">{withSymbol(amount, token)}</p>
          <p className="muted small">{help}</p>
        </section>
      ))}
    </div>
  );
}

function History({ token }: { token: Token }) {
  const history = useDashboard((s) => s.history);
  const filter = useDashboard((s) => s.historyFilter);
  const page = useDashboard((s) => s.historyCursors.length);
  const previews = useDashboard((s) => s.historyPreviews.data);
  const thumbs = new Map((previews?.previews ?? []).map((p) => [p.taskId, p]));
  const actions = useActions();
  return (
    <section className="card" aria-labelledby="history-title">
      <div className="card-head">
        <h2 id="history-title" className="card-title">
          History
        </h2>
        <div className="filters">
          <label className="field-inline">
            <span>Status</span>
            <select value={filter.status ?? ''} onChange={(e) => void actions.setHistoryFilter({ ...filter, status: EarningStatusSchema.safeParse(e.target.value).data })}>
              <option value="">All</option>
              {EarningStatusSchema.options.map((s) => (
                <option key={s} value={s}>
                  {STATUS_WORDS[s]}
                </option>
              ))}
            </select>
          </label>
          <label className="field-inline">
            <span>Kind</span>
            <select value={filter.kind ?? ''} onChange={(e) => void actions.setHistoryFilter({ ...filter, kind: e.target.value || undefined })}>
              <option value="">All</option>
              {(history.data?.kinds ?? []).map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      <Loadable resource={history} onRetry={() => void actions.refresh()} lines={5}>
        {(h) =>
          h.entries.length === 0 ? (
            <EmptyState icon="chart" title={filter.status || filter.kind ? 'No task matches these filters' : 'No earnings yet'}>
              {filter.status || filter.kind ? 'Try another status or kind.' : 'Each task the hub credits shows up here, with the GPU time it took.'}
            </EmptyState>
          ) : (
            <>
              <div className="table-wrap">
                <table className="table" aria-labelledby="history-title">
                  <thead>
                    <tr>
                      <th scope="col">When</th>
                      <th scope="col">Task</th>
                      <th scope="col">Kind</th>
                      <th scope="col" className="num">
                        GPU time
                      </th>
                      <th scope="col" className="num">
                        Amount
                      </th>
                      <th scope="col">Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {h.entries.map((e) => (
                      <tr key={`${e.hub} ${e.id}`}>
                        <td>{formatDateTime(e.createdAt)}</td>
                        <td className="mono" title={e.taskId}>
                          {shortHex(e.taskId, 6)}
                        </td>
                        <td>
                          {e.kind}
                          {thumbs.get(e.taskId) ? <TileThumb preview={thumbs.get(e.taskId)!} label={`Tile of task ${e.taskId}`} small /> : null}
                        </td>
                        <td className="num">{e.gpuMs === null ? '—' : formatDuration(e.gpuMs)}</td>
                        <td className="num">{withSymbol(e.amount, token)}</td>
                        <td>
                          <span className={`badge badge-${e.status}`} title={STATUS_HELP[e.status]}>
                            {STATUS_WORDS[e.status]}
                          </span>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <nav className="pager" aria-label="History pages">
                <button type="button" className="btn btn-small" disabled={page === 0 || history.loading} onClick={() => void actions.historyNewer()}>
                  ← Newer
                </button>
                <span className="muted small" aria-live="polite">
                  Page {page + 1} · {HISTORY_PAGE} per page
                </span>
                <button type="button" className="btn btn-small" disabled={!h.nextCursor || history.loading} onClick={() => void actions.historyOlder()}>
                  Older →
                </button>
              </nav>
            </>
          )
        }
      </Loadable>
    </section>
  );
}

const PAYOUT_WORDS = { pending: 'Preparing', sent: 'Sent, confirming', confirmed: 'Confirmed', failed: 'Failed: retried later' } as const;

function Payouts({ token }: { token: Token }) {
  const payouts = useDashboard((s) => s.payouts);
  const actions = useActions();
  return (
    <section className="card" aria-labelledby="payouts-title">
      <h2 id="payouts-title" className="card-title">
        Payouts
      </h2>
      <Loadable resource={payouts} onRetry={() => void actions.refresh()} lines={3}>
        {(p) =>
          p.payouts.length === 0 ? (
            <EmptyState icon="wallet" title="No payouts yet">
              The hub pays verified earnings to your wallet once they reach its threshold.
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col" className="num">
                      Amount
                    </th>
                    <th scope="col">Status</th>
                    <th scope="col">Transaction</th>
                  </tr>
                </thead>
                <tbody>
                  {p.payouts.map((x) => (
                    <tr key={`${x.hub} ${x.id}`}>
                      <td>{formatDateTime(x.createdAt)}</td>
                      <td className="num">{withSymbol(x.amount, token)}</td>
                      <td>
                        <span className={`badge badge-payout-${x.status}`}>{PAYOUT_WORDS[x.status]}</span>
                      </td>
                      <td>
                        {x.txHash ? (
                          <span className="hash">
                            <span className="mono" title={x.txHash}>
                              {shortHex(x.txHash, 8)}
                            </span>
                            <CopyButton text={x.txHash} label={`Copy the transaction hash of the payout of ${formatDateTime(x.createdAt)}`} />
                          </span>
                        ) : (
                          <span className="muted">not sent yet</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loadable>
    </section>
  );
}

export function Earnings() {
  const status = useDashboard((s) => s.status.data);
  const series = useDashboard((s) => s.series);
  const bucket = useDashboard((s) => s.bucket);
  const totals = useDashboard((s) => s.history.data?.totals ?? null);
  const actions = useActions();
  const [exporting, setExporting] = useState(false);
  const token = status?.token ?? { symbol: 'IDLE', decimals: 18 };

  const exportCsv = async (): Promise<void> => {
    setExporting(true);
    try {
      const { csv, filename } = await actions.exportCsv();
      download(csv, filename);
      actions.notify('success', `Saved ${filename}.`);
    } catch (error) {
      actions.notify('error', `Could not export: ${messageOf(error)}`);
    } finally {
      setExporting(false);
    }
  };

  return (
    <div className="earnings">
      <div className="toolbar">
        <button type="button" className="btn" onClick={() => void exportCsv()} disabled={exporting}>
          <Icon name="download" size={18} />
          {exporting ? 'Exporting…' : 'Export CSV'}
        </button>
      </div>
      {totals ? <Totals totals={totals} token={token} /> : null}
      <section className="card" aria-labelledby="chart-title">
        <div className="card-head">
          <h2 id="chart-title" className="card-title">
            Earnings over time
          </h2>
          <Segmented label="Group earnings" options={SERIES_BUCKETS.map((b) => ({ value: b, label: BUCKET_WORDS[b] }))} value={bucket} onChange={(b) => void actions.setBucket(b)} />
        </div>
        <Loadable resource={series} onRetry={() => void actions.refresh()} lines={5}>
          {(s) => <BarChart points={s.points} bucket={s.bucket} token={token} />}
        </Loadable>
      </section>
      <History token={token} />
      <Payouts token={token} />
    </div>
  );
}
