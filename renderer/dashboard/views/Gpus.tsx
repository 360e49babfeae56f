/** GPUs: each detected device with its model, memory, driver, temperature and benchmark score. */
import type { GpuReport } from '../../../protocol/http.js';
import { Icon } from '../components/Icon.js';
import { EmptyState, Loadable } from '../components/States.js';
import { tempTone } from '../components/TempGauge.js';
import { useActions, useDashboard } from '../context.js';
import { formatAgo, formatMemory } from '../format.js';

/** The detected device that runs the tasks: the one whose name the WebGPU adapter shares. */
export function isComputeDevice(gpu: GpuReport, computeDevice: string | null, all: readonly GpuReport[]): boolean {
  if (!computeDevice) return false;
  const name = computeDevice.toLowerCase();
  const match = (g: GpuReport): boolean => name.includes(g.model.toLowerCase().replace(/ \(cpu\)$/, '')) || g.model.toLowerCase().includes(name);
  const first = all.find(match) ?? all.find((g) => !g.software) ?? all[0];
  return first === gpu;
}

export function Gpus() {
  const gpus = useDashboard((s) => s.gpus);
  const limit = useDashboard((s) => s.status.data?.temperatureLimitC ?? null);
  const { refresh } = useActions();
  return (
    <Loadable resource={gpus} onRetry={() => void refresh()} lines={4}>
      {(g) =>
        g.gpus.length === 0 ? (
          <EmptyState icon="gpu" title="No GPU found">
            Idleforge found no graphics card on this machine{g.computeDevice ? `; tasks run on ${g.computeDevice}` : ''}.
          </EmptyState>
        ) : (
          <div className="gpus">
            {g.gpus.map((gpu, i) => {
              const computing = isComputeDevice(gpu, g.computeDevice, g.gpus);
              return (
                <section key={`${gpu.model} ${i}`} className={`card gpu${computing ? ' is-computing' : ''}`} aria-label={gpu.model}>
                  <div className="gpu-head">
                    <span className={`vendor vendor-${gpu.vendor.toLowerCase()}`}>{gpu.vendor}</span>
                    {computing ? (
                      <span className="badge badge-verified">
                        <Icon name="bolt" size={12} /> Runs the tasks
                      </span>
                    ) : null}
                    {gpu.software ? <span className="badge badge-pending">CPU renderer: slow</span> : null}
                  </div>
                  <h2 className="gpu-model">{gpu.model}</h2>
                  <dl className="specs">
                    <div>
                      <dt>Memory</dt>
                      <dd>{formatMemory(gpu.vramMiB)}</dd>
                    </div>
                    <div>
                      <dt>Driver</dt>
                      <dd>{gpu.driver ?? 'Unknown'}</dd>
                    </div>
                    <div>
                      <dt>Temperature</dt>
                      <dd className={computing && limit !== null ? `temp-${tempTone(g.temperatureC, limit)}` : undefined}>
                        {computing ? (g.temperatureC === null ? 'Not readable here' : `${Math.round(g.temperatureC)} °C${limit !== null ? ` (limit ${limit} °C)` : ''}`) : '—'}
                      </dd>
                    </div>
                    <div>
                      <dt>Benchmark score</dt>
                      <dd>
                        {!computing ? (
                          '—'
                        ) : g.score ? (
                          <>
                            <strong>{g.score.gflops.toFixed(g.score.gflops < 10 ? 2 : 0)}</strong> GFLOP/s · <strong>{g.score.mhs.toFixed(g.score.mhs < 10 ? 2 : 0)}</strong> MH/s
                            {g.score.measuredAt ? <span className="muted small"> · measured {formatAgo(g.score.measuredAt)}</span> : null}
                          </>
                        ) : (
                          <span className="muted">Measured the first time work is allowed (a few seconds, once a week)</span>
                        )}
                      </dd>
                    </div>
                  </dl>
                </section>
              );
            })}
          </div>
        )
      }
    </Loadable>
  );
}
