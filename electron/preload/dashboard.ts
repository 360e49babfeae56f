/**
 * The dashboard's preload (sandboxed, context-isolated): exposes `window.idleforgeEngine`, one
 * named method per engine API method and `onEvent`, nothing else: never ipcRenderer, never a
 * generic invoke. Main checks the sender and parses every call's params (dashboard-ipc.ts).
 */
import { contextBridge, ipcRenderer } from 'electron';
import { ENGINE_BRIDGE_GLOBAL, ENGINE_EVENT_CHANNEL, ENGINE_METHODS, engineChannel, type EngineBridge, type EngineMethod } from '../../protocol/engine-api.js';

type Answer = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

async function call(method: EngineMethod, params: unknown): Promise<unknown> {
  const answer = (await ipcRenderer.invoke(engineChannel(method), params ?? {})) as Answer;
  if (answer.ok) return answer.result;
  // A plain { code, message } crosses the context bridge whole (an Error would lose its code);
  // the dashboard's transport turns it into an EngineApiError.
  throw { code: answer.error.code, message: answer.error.message };
}

const methods = Object.fromEntries(ENGINE_METHODS.map((m) => [m, (params: unknown) => call(m, params)]));

const bridge = {
  ...methods,
  onEvent(listener: (event: unknown) => void): () => void {
    const forward = (_event: unknown, data: unknown): void => listener(data);
    ipcRenderer.on(ENGINE_EVENT_CHANNEL, forward);
    return () => {
      ipcRenderer.removeListener(ENGINE_EVENT_CHANNEL, forward);
    };
  },
} as EngineBridge;

contextBridge.exposeInMainWorld(ENGINE_BRIDGE_GLOBAL, bridge);
