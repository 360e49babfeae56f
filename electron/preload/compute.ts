/**
 * The compute renderer's preload (sandboxed, context-isolated): the page gets one object with a
 * task in and an answer out, nothing else: no ipcRenderer, no channel names, no Node.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { COMPUTE_BRIDGE_GLOBAL, COMPUTE_CHANNELS } from '../channels.js';

type Listener = (message: unknown) => void;

/** One listener per message kind: a second registration is ignored. */
function once(channel: string): (listener: Listener) => void {
  let taken = false;
  return (listener) => {
    if (taken || typeof listener !== 'function') return;
    taken = true;
    ipcRenderer.on(channel, (_event, message: unknown) => listener(message));
  };
}

contextBridge.exposeInMainWorld(COMPUTE_BRIDGE_GLOBAL, {
  /** The page's WebGPU is up (`{ ok: true, adapter }`) or not (`{ ok: false, message }`). */
  ready: (info: unknown) => ipcRenderer.send(COMPUTE_CHANNELS.ready, info),
  /** The answer to request `id`. */
  answer: (id: unknown, answer: unknown) => ipcRenderer.send(COMPUTE_CHANNELS.answer, { id, answer }),
  /** The GPU is done with request `id`'s task; its answer follows once encoded. */
  computed: (id: unknown) => ipcRenderer.send(COMPUTE_CHANNELS.computed, { id }),
  onRun: once(COMPUTE_CHANNELS.run),
  onBenchmark: once(COMPUTE_CHANNELS.benchmark),
  onStop: once(COMPUTE_CHANNELS.stop),
});
