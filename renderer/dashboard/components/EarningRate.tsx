/**
 * "About N tokens an hour now": the hub's rates times this GPU's speed (measured, or estimated
 * from its model and labelled so), beside what it actually earned in the last 24 hours, with
 * the hour's worth, its electricity and the GPU's draw (measured or estimated, labelled).
 */
import type { EngineResult } from '../../../protocol/engine-api.js';
import { withSymbol } from '../format.js';
import { formatMoney, formatWatts } from '../money.js';
import { Icon } from './Icon.js';
import { ErrorState, Skeleton } from './States.js';
import type { Resource } from '../store.js';

type Outlook = EngineResult<'getCostOutlook'>;

const POWER_SOURCE: Record<Outlook['power']['source'], string> = {
  'nvidia-smi': 'measured by nvidia-smi',
  hwmon: 'measured by the GPU’s sensor',
  estimate: 'estimated',
};

export function EarningRate({ outlook, onRetry }: { outlook: Resource<Outlook>; onRetry: () => void }) {
  const o = outlook.data;
  return (
    <section className="card" aria-labelledby="rate-title">
      <h2 id="rate-title" className="card-title">
        <Icon name="gpu" size={18} /> What this GPU earns and costs
      </h2>
      {!o ? (
        outlook.error ? <ErrorState message={outlook.error} onRetry={onRetry} /> : <Skeleton lines={2} label="Working out what this GPU earns" />
      ) : (
        <RateBody o={o} />
      )}
    </section>
  );
}

function RateBody({ o }: { o: Outlook }) {
  const earned24h = BigInt(o.last24h) > 0n;
  return (
    <div className="rate">
      <div className="grid-2">
        <div>
          <p className="stat-label">Now</p>
          {o.estimate ? (
            <>
              <p className="stat-value" data-testid="rate-now">
                about {withSymbol(o.estimate.perHour, o.token)} an hour
              </p>
              <p className="muted small">
                {o.estimate.from === 'model'
                  ? 'Estimated from its model: this GPU has not been measured yet.'
                  : o.estimate.from === 'benchmark'
                    ? `From this GPU’s measured speed and the hub’s rate for ${o.estimate.kind} tasks (the first tasks will tell better).`
                    : `From what its last ${o.estimate.tasks} ${o.estimate.kind} tasks earned per hour of GPU time.`}
                {o.estimate.inDemand ? '' : ' The hub has no work of this kind right now.'}
              </p>
            </>
          ) : (
            <p className="muted">{o.noEstimate ?? 'Not known yet.'}</p>
          )}
        </div>
        <div>
          <p className="stat-label">Last 24 hours</p>
          <p className="stat-value" data-testid="rate-24h">
            {earned24h ? `${withSymbol(o.last24h, o.token)}` : 'Nothing yet'}
          </p>
          <p className="muted small">{earned24h ? 'Actually earned (pending, verified and paid).' : 'Once it works, what it actually earned shows here.'}</p>
        </div>
      </div>
      <ul className="rate-costs muted small">
        <li>
          Worth {o.valuePerHour !== null && o.tokenValue ? `${formatMoney(o.valuePerHour, o.tokenValue.currency)} an hour` : 'unknown'}
          {o.tokenValue ? ` (a token at ${formatMoney(o.tokenValue.perToken, o.tokenValue.currency)}, ${o.tokenValue.source === 'yours' ? 'your value' : `the hub’s reference price${o.tokenValue.label ? `: ${o.tokenValue.label}` : ''}`})` : ': set the token’s value in Settings'}.
        </li>
        <li>
          Power: {formatWatts(o.power.milliwatts)} while working, {POWER_SOURCE[o.power.source]}
          {o.power.basis ? ` (${o.power.basis})` : ''}.
        </li>
        <li>
          Electricity: {o.costPerHour !== null ? `${formatMoney(o.costPerHour, o.currency)} an hour at ${formatMoney(o.pricePerKwh ?? 0, o.currency)} a kWh` : 'no price set (Settings → What it costs)'}
          {o.unprofitable === true ? ' — more than it earns now.' : '.'}
        </li>
      </ul>
    </div>
  );
}
