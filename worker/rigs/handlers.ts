/** The engine API's rig methods (protocol/engine-api.ts): the dashboard's Rigs page. */
import { EngineApiError, type EngineResult } from '../../protocol/index.js';
import { snoozeUntil } from '../api/handlers.js';
import { HubAnswerError, HubUnreachableError } from '../hub-client.js';
import type { WorkerStore } from '../store/index.js';
import type { FleetLink } from './link.js';

type Params = {
  getRigs: { refresh?: boolean | undefined };
  commandRig: { target: string; action: 'pause' | 'resume' | 'snooze' | 'rename'; for?: '30m' | '1h' | 'tomorrow' | undefined; name?: string | undefined };
  renameRig: { name: string };
  rigPairingCode: Record<string, never>;
  joinRigs: { code: string };
};
export type RigHandlers = { [M in keyof Params]: (p: Params[M]) => Promise<EngineResult<M>> | EngineResult<M> };

/** The hub's refusal or silence, as the dashboard shows errors. */
async function asked<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof HubAnswerError) throw new EngineApiError(error.code, error.message);
    if (error instanceof HubUnreachableError) throw new EngineApiError('HUB_UNREACHABLE', error.message);
    throw error;
  }
}

export function rigHandlers(link: FleetLink | undefined, store: WorkerStore, now: () => Date): RigHandlers {
  const need = (): FleetLink => {
    if (!link) throw new EngineApiError('NO_RIGS', 'this engine does not talk to other rigs');
    return link;
  };
  return {
    getRigs: async ({ refresh }) => {
      const l = need();
      if (refresh) await l.tick(true);
      return l.view();
    },
    commandRig: async (p) => {
      if (p.action === 'snooze' && !p.for) throw new EngineApiError('INVALID_PARAMS', 'for: a snooze says for how long');
      if (p.action === 'rename' && !p.name) throw new EngineApiError('INVALID_PARAMS', 'name: a rename gives the new name');
      const id = await asked(() =>
        need().command(p.target, p.action, { ...(p.action === 'snooze' && p.for ? { until: snoozeUntil(p.for, now()) } : {}), ...(p.action === 'rename' && p.name ? { name: p.name } : {}) }),
      );
      return { id };
    },
    renameRig: ({ name }) => {
      store.settings.update({ rigName: name });
      return { name };
    },
    rigPairingCode: () => asked(() => need().pairingCode()),
    joinRigs: async ({ code }) => {
      const payoutAddress = await asked(() => need().join({ code }));
      return { payoutAddress };
    },
  };
}
