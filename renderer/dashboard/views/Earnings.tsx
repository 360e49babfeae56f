/**
 * Earnings: a chart by hour, day or week; the history (task, kind, GPU time, amount, status) with
 * paging and filters, and each task's receipt (what was done, how the hub checked it, the verdict
 * and why); payouts with their transaction hashes, checked against the chain on demand; CSV export.
 */
import { Fragment, useState } from 'react';
import { HistoryStatusSchema, SERIES_BUCKETS, type EngineResult, type HistoryRow, type SeriesBucket, type TilePreview } from '../../../protocol/engine-api.js';
import { checkWords, HISTORY_STATUS_WORDS, workWords } from '../../../protocol/receipts.js';
import type { Reconciliation } from '../../../protocol/reconcile.js';
import { BarChart } from '../components/BarChart.js';
import { CopyButton } from '../components/CopyButton.js';
import { Icon } from '../components/Icon.js';
import { EmptyState, ErrorState, Loadable } from '../components/States.js';
import { Segmented } from '../components/Tabs.js';
import { NetEarnings } from '../components/NetEarnings.js';
import { PagedTable } from '../components/PagedTable.js';
import { TileThumb } from '../components/TileThumb.js';
import { useActions, useDashboard } from '../context.js';
import { formatDateTime, formatDuration, shortHex, withSymbol } from '../format.js';
import { HISTORY_PAGE, messageOf, PAYOUTS_PAGE } from '../store.js';

type Token = { symbol: string; decimals: number };

const BUCKET_WORDS: Record<SeriesBucket, string> = { hour: 'By hour', day: 'By day', week: 'By week' };

/** Saves text as a file from the page (works the same in a browser and in the desktop app). */
export function download(text: string, filename: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
  downloadUrl(url, filename);
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Downloads what `url` answers (its own name from the answer when `filename` is empty): the browser writes it as it streams. */
function downloadUrl(url: string, filename: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
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

/** One task of the history, and its receipt below it once opened. */
function HistoryEntry({ e, token, thumb }: { e: HistoryRow; token: Token; thumb: TilePreview | null }) {
  const [open, setOpen] = useState(false);
  const words = HISTORY_STATUS_WORDS[e.status];
  const receiptId = `receipt-${e.hub.replace(/[^A-Za-z0-9]/g, '')}-${e.id}`;
  const size = workWords(e.work);
  return (
    <Fragment>
      <tr>
        <td>{formatDateTime(e.createdAt)}</td>
        <td className="mono" title={e.taskId}>
          {shortHex(e.taskId, 6)}
        </td>
        <td>
          {e.kind}
          {thumb ? <TileThumb preview={thumb} label={`Tile of task ${e.taskId}`} small /> : null}
        </td>
        <td className="num">{e.gpuMs === null ? '—' : formatDuration(e.gpuMs)}</td>
        <td className="num">{withSymbol(e.amount, token)}</td>
        <td>
          <span className={`badge badge-${e.status}`} title={words.help}>
            {words.label}
          </span>
        </td>
        <td>
          <button type="button" className="btn btn-small btn-ghost" aria-expanded={open} aria-controls={receiptId} onClick={() => setOpen(!open)}>
            {open ? 'Hide receipt' : 'Receipt'}
          </button>
        </td>
      </tr>
      {open ? (
        <tr className="receipt-row">
          <td colSpan={7}>
            <dl className="receipt" id={receiptId} aria-label={`Receipt of task ${e.taskId}`}>
              <dt>What was done</dt>
              <dd>
                A {e.kind} task{size ? ` of ${size}` : ''}
                {e.gpuMs === null ? ' (not run on this machine, or its GPU time was not measured)' : `, ${formatDuration(e.gpuMs)} of GPU time here`}.
                {thumb ? <TileThumb preview={thumb} label={`The tile task ${e.taskId} rendered`} /> : null}
              </dd>
              <dt>How the hub checked it</dt>
              <dd>{checkWords(e.check, e.status)}</dd>
              <dt>Verdict</dt>
              <dd>
                {words.label}: {words.help}
              </dd>
              {e.reason ? (
                <>
                  <dt>Why</dt>
                  <dd>{e.reason}</dd>
                </>
              ) : null}
            </dl>
          </td>
        </tr>
      ) : null}
    </Fragment>
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
            <select value={filter.status ?? ''} onChange={(e) => void actions.setHistoryFilter({ ...filter, status: HistoryStatusSchema.safeParse(e.target.value).data })}>
              <option value="">All</option>
              {HistoryStatusSchema.options.map((s) => (
                <option key={s} value={s}>
                  {HISTORY_STATUS_WORDS[s].label}
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
      <PagedTable
        resource={history}
        onRetry={() => void actions.refresh()}
        lines={5}
        rows={(h) => h.entries}
        empty={
          <EmptyState icon="chart" title={filter.status || filter.kind ? 'No task matches these filters' : 'No earnings yet'}>
            {filter.status || filter.kind ? 'Try another status or kind.' : 'Each task this machine runs shows up here, with the GPU time it took and its receipt: how the hub checked it and what it paid.'}
          </EmptyState>
        }
        titleId="history-title"
        head={
          <>
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
            <th scope="col">
              <span className="sr-only">Receipt</span>
            </th>
          </>
        }
        row={(e) => <HistoryEntry key={`${e.hub} ${e.id}`} e={e} token={token} thumb={thumbs.get(e.taskId) ?? null} />}
        pager={{ label: 'History pages', page, perPage: HISTORY_PAGE, onNewer: () => void actions.historyNewer(), onOlder: () => void actions.historyOlder() }}
      />
    </section>
  );
}

const DIFFERENCE_WORDS: Record<Reconciliation['differences'][number]['kind'], string> = {
  'missing-transfer': 'Payout without its transfer',
  'unknown-transfer': 'Transfer the ledger does not know',
  'amount-differs': 'Amounts differ',
};

/** "Check against the chain": the hub's payouts to the payout address against the token's transfers to it. */
function ChainCheck({ token }: { token: Token }) {
  const actions = useActions();
  const [state, setState] = useState<{ kind: 'idle' } | { kind: 'checking' } | { kind: 'error'; message: string } | { kind: 'done'; result: Reconciliation }>({ kind: 'idle' });
  const check = async (): Promise<void> => {
    setState({ kind: 'checking' });
    try {
      setState({ kind: 'done', result: await actions.reconcile() });
    } catch (error) {
      setState({ kind: 'error', message: `Could not check against the chain: ${messageOf(error)}` });
    }
  };
  return (
    <section className="card" aria-labelledby="chain-title">
      <div className="card-head">
        <h2 id="chain-title" className="card-title">
          The chain
        </h2>
        <button type="button" className="btn btn-small" onClick={() => void check()} disabled={state.kind === 'checking'}>
          {state.kind === 'checking' ? 'Checking…' : 'Check against the chain'}
        </button>
      </div>
      {state.kind === 'idle' ? (
        <p className="muted small">Compares every payout the hub says it sent to your payout address (from all your machines) with the token transfers the chain shows, transaction by transaction.</p>
      ) : null}
      {state.kind === 'checking' ? (
        <p className="muted small" role="status">
          Reading the hub's payouts and the chain's transfers, from the block of your first payout…
        </p>
      ) : null}
      {state.kind === 'error' ? <ErrorState message={state.message} onRetry={() => void check()} /> : null}
      {state.kind === 'done' ? <ChainResult r={state.result} token={token} /> : null}
    </section>
  );
}

function ChainResult({ r, token }: { r: Reconciliation; token: Token }) {
  if (r.fromBlock === null) {
    return (
      <EmptyState icon="wallet" title="Nothing to check yet">
        No payout to {shortHex(r.address, 6)} has been sent yet: once one is, it can be checked here.
      </EmptyState>
    );
  }
  return (
    <div className="chain-result" aria-live="polite">
      <p className={r.agrees ? 'chain-verdict chain-agrees' : 'chain-verdict chain-differs'} role="status">
        {r.agrees
          ? `The ledger and the chain agree: ${r.matched} payout${r.matched === 1 ? '' : 's'}, each found on chain with the same amount.`
          : `The ledger and the chain differ in ${r.differences.length} place${r.differences.length === 1 ? '' : 's'}.`}
      </p>
      <dl className="receipt">
        <dt>Hub's ledger</dt>
        <dd>{withSymbol(r.ledgerTotal, token)} paid to {shortHex(r.address, 6)} ({r.payouts.mine} payouts of this machine, {r.payouts.others} of your other machines)</dd>
        <dt>On chain</dt>
        <dd>
          {withSymbol(r.chainTotal, token)} from the hub's treasury {shortHex(r.treasury, 6)}, blocks {r.fromBlock}–{r.toBlock}
        </dd>
        {r.notSentYet > 0 ? (
          <>
            <dt>Not sent yet</dt>
            <dd>{r.notSentYet} payout{r.notSentYet === 1 ? '' : 's'} being prepared (counted on neither side)</dd>
          </>
        ) : null}
      </dl>
      {r.differences.length > 0 ? (
        <ul className="chain-differences" aria-label="Differences">
          {r.differences.map((d, i) => (
            <li key={`${d.txHash ?? ''}-${i}`}>
              <strong>{DIFFERENCE_WORDS[d.kind]}</strong>
              {d.txHash ? (
                <span className="mono" title={d.txHash}>
                  {' '}
                  {shortHex(d.txHash, 8)}
                </span>
              ) : null}
              : {d.explanation}
            </li>
          ))}
        </ul>
      ) : null}
      {r.otherSenders.length > 0 ? (
        <>
          <h3 className="small">Transfers from other senders ({withSymbol(r.otherTotal, token)}), not payouts of this hub</h3>
          <ul className="chain-others" aria-label="Transfers from other senders">
            {r.otherSenders.map((t) => (
              <li key={`${t.txHash}-${t.logIndex}`}>
                {withSymbol(t.amount, token)} from <span className="mono">{shortHex(t.from, 6)}</span> in block {t.blockNumber}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </div>
  );
}

const PAYOUT_WORDS = { pending: 'Preparing', sent: 'Sent, confirming', confirmed: 'Confirmed', failed: 'Failed: retried later' } as const;

function Payouts({ token }: { token: Token }) {
  const payouts = useDashboard((s) => s.payouts);
  const page = useDashboard((s) => s.payoutsCursors.length);
  const actions = useActions();
  return (
    <section className="card" aria-labelledby="payouts-title">
      <h2 id="payouts-title" className="card-title">
        Payouts
      </h2>
      <PagedTable
        resource={payouts}
        onRetry={() => void actions.refresh()}
        lines={3}
        rows={(p) => p.payouts}
        empty={
          <EmptyState icon="wallet" title="No payouts yet">
            The hub pays verified earnings to your wallet once they reach its threshold.
          </EmptyState>
        }
        titleId="payouts-title"
        head={
          <>
            <th scope="col">When</th>
            <th scope="col" className="num">
              Amount
            </th>
            <th scope="col">Status</th>
            <th scope="col">Transaction</th>
          </>
        }
        row={(x) => (
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
        )}
        pager={{ label: 'Payout pages', page, perPage: PAYOUTS_PAGE, onNewer: () => void actions.payoutsNewer(), onOlder: () => void actions.payoutsOlder() }}
      />
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
      const file = await actions.exportCsv();
      if ('url' in file) {
        // The engine streams it a page at a time: a year of history is never in one piece.
        downloadUrl(file.url, '');
        actions.notify('success', 'Downloading your earnings as CSV: your browser shows its progress.');
      } else {
        download(file.csv, file.filename);
        actions.notify('success', `Saved ${file.filename}.`);
      }
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
      <NetEarnings token={token} />
      <History token={token} />
      <Payouts token={token} />
      <ChainCheck token={token} />
    </div>
  );
}
