/**
 * The engine API over IPC for the dashboard window: one `ipcMain.handle` per method on
 * `engineChannel(method)`, each guarded (the dashboard window's main frame at
 * idleforge://dashboard only; params parsed with ENGINE_API's schema), and the engine's events
 * pushed to that window on ENGINE_EVENT_CHANNEL.
 */
import type { IpcMain } from 'electron';
import { ENGINE_API, ENGINE_EVENT_CHANNEL, ENGINE_METHODS, engineChannel, type EngineEvent, type EngineMethod } from '../protocol/index.js';
import { guardedHandler, type SenderRule } from './ipc-guard.js';

export interface EngineIpcOptions {
  ipc: Pick<IpcMain, 'handle' | 'removeHandler'>;
  rule: SenderRule;
  /** The engine API (ComposedWorker.call): runs the method with params already parsed here. */
  call(method: EngineMethod, params: unknown): Promise<unknown>;
  /** After a call succeeded (the shell follows settings changes: launch at login). */
  afterCall?(method: EngineMethod, result: unknown): void;
  log?(line: string): void;
}

/** Registers every method; returns the function that removes them. */
export function registerEngineIpc(o: EngineIpcOptions): () => void {
  for (const method of ENGINE_METHODS) {
    o.ipc.handle(
      engineChannel(method),
      guardedHandler({
        rule: o.rule,
        schema: ENGINE_API[method].params,
        invalidCode: method === 'updateSettings' ? 'INVALID_SETTINGS' : 'INVALID_PARAMS',
        onRefused: (why) => o.log?.(`engine call ${method} refused: ${why}`),
        handle: async (params) => {
          const result = await o.call(method, params);
          o.afterCall?.(method, result);
          return result;
        },
      }),
    );
  }
  return () => {
    for (const method of ENGINE_METHODS) o.ipc.removeHandler(engineChannel(method));
  };
}

export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, data: unknown): void;
}

/** Sends each engine event to the dashboard while it exists; returns the unsubscribe. */
export function forwardEngineEvents(subscribe: (send: (e: EngineEvent) => void) => () => void, target: () => EventTarget | null): () => void {
  return subscribe((event) => {
    const t = target();
    if (t && !t.isDestroyed()) t.send(ENGINE_EVENT_CHANNEL, event);
  });
}
