/**
 * Gross, electricity and net by day or week: what the GPU earned (tokens, and their worth at the
 * token's value), what its electricity cost (measured or estimated energy at the prices set), and
 * what is left. Exact micro-units from the engine; unknown figures say why.
 */
import { useState } from 'react';
import type { EngineResult } from '../../../protocol/engine-api.js';
import { useActions, useDashboard } from '../context.js';
import { formatDay, withSymbol } from '../format.js';
import { formatMoney } from '../money.js';
import { messageOf } from '../store.js';
// Used only when clicked: the cycle with the view that shows this card is harmless.
import { download } from '../views/Earnings.js';
import { Icon } from './Icon.js';
import { EmptyState, Loadable } from './States.js';
import { Segmented } from './Tabs.js';

type Point = EngineResult<'getEnergySeries'>['points'][number];

const kwh = (wh: number): string => `${(wh / 1000).toFixed(wh < 10_000 ? 3 : 1)} kWh`;

export function NetEarnings({ token }: { token: { symbol: string; decimals: number } }) {
  const energy = useDashboard((s) => s.energy);
  const bucket = useDashboard((s) => s.energyBucket);
  const actions = useActions();
  const [exporting, setExporting] = useState(false);
  const exportCsv = async (): Promise<void> => {
    setExporting(true);
    try {
      const { csv, filename } = await actions.exportCostsCsv();
      download(csv, filename);
      actions.notify('success', `Saved ${filename}.`);
    } catch (error) {
      actions.notify('error', `Could not export: ${messageOf(error)}`);
    } finally {
      setExporting(false);
    }
  };
  const money = (micro: string | null, currency: string, why: string): string => (micro === null ? why : formatMoney(micro, currency));
  return (
    <section className="card" aria-labelledby="net-title">
      <div className="card-head">
        <h2 id="net-title" className="card-title">
          Gross, electricity and net
        </h2>
        <div className="row">
          <Segmented label="Group costs" options={[{ value: 'day' as const, label: 'Days' }, { value: 'week' as const, label: 'Weeks' }]} value={bucket} onChange={(b) => void actions.setEnergyBucket(b)} />
          <button type="button" className="btn" onClick={() => void exportCsv()} disabled={exporting}>
            <Icon name="download" size={18} />
            {exporting ? 'Exporting…' : 'Costs CSV'}
          </button>
        </div>
      </div>
      <Loadable resource={energy} onRetry={() => void actions.refresh()} lines={4}>
        {(e) => {
          const shown = e.points.filter((p) => p.wh > 0 || BigInt(p.gross) > 0n).reverse();
          if (shown.length === 0) {
            return (
              <EmptyState icon="clock" title="Nothing to add up yet">
                Once the GPU works, each {e.bucket} shows what it earned, what its electricity cost and what is left.
              </EmptyState>
            );
          }
          return (
            <div className="table-wrap">
              <table className="table" aria-label={`Gross, electricity and net by ${e.bucket}`}>
                <thead>
                  <tr>
                    <th scope="col">{e.bucket === 'day' ? 'Day' : 'Week of'}</th>
                    <th scope="col">Gross</th>
                    <th scope="col">Worth</th>
                    <th scope="col">Energy</th>
                    <th scope="col">Electricity</th>
                    <th scope="col">Net</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((p: Point) => (
                    <tr key={p.start}>
                      <td>{formatDay(p.start)}</td>
                      <td>{withSymbol(p.gross, token)}</td>
                      <td>{money(p.grossValue, e.currency, 'no token value')}</td>
                      <td>
                        {kwh(p.wh)}
                        {p.estimated ? <span className="muted small"> (estimated)</span> : null}
                      </td>
                      <td>
                        {money(p.electricity, e.currency, 'no price set')}
                        {p.unpriced && p.electricity !== null ? <span className="muted small"> (some hours had no price)</span> : null}
                      </td>
                      <td className={p.net !== null && p.net.startsWith('-') ? 'is-negative' : undefined}>{money(p.net, e.currency, '—')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Loadable>
    </section>
  );
}
