/**
 * The first few lines the dashboard runs, before React and the API's schemas are loaded: where
 * the engine is (the desktop app's bridge, or the headless worker over HTTP with the token from
 * the page's fragment), and the engine's status asked for at once, so the question travels while
 * the rest of the dashboard loads. The answer is kept raw: the transport takes it as the answer to
 * its first getStatus call, and the client parses it with the API's schema like any other.
 *
 * Nothing here may import a value from protocol/ (its schemas and zod would come with it, which
 * is what this file runs ahead of): types only, checked against protocol/ by the compiler.
 */
import type { ENGINE_BRIDGE_GLOBAL, EngineBridge, EngineMethod } from '../../protocol/engine-api.js';

/** protocol/engine-api.ts's ENGINE_BRIDGE_GLOBAL (the compiler checks that they are the same). */
const BRIDGE_GLOBAL: typeof ENGINE_BRIDGE_GLOBAL = 'idleforgeEngine';
const FIRST_CALL: EngineMethod = 'getStatus';

/** The headless worker's API over HTTP: `POST {origin}/api/v1/{method}`. */
export function apiUrl(origin: string, method: EngineMethod): string {
  return `${origin}/api/v1/${method}`;
}

/** The token from `#token=…` (or null). */
export function tokenFromHash(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return token && /^[0-9a-f]{16,128}$/i.test(token) ? token : null;
}

/** The preload's object; a method it lacks (an older shell) fails alone, in words, when called. */
export function isBridge(value: unknown): value is EngineBridge {
  return typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>).onEvent === 'function';
}

/** Where the engine is, as this page was opened; null when it was opened without a way to it. */
export type EngineLocation = { kind: 'bridge'; bridge: EngineBridge } | { kind: 'http'; origin: string; token: string };

export function locateEngine(win: Window): EngineLocation | null {
  const bridge = (win as unknown as Record<string, unknown>)[BRIDGE_GLOBAL];
  if (isBridge(bridge)) return { kind: 'bridge', bridge };
  const token = tokenFromHash(win.location.hash);
  if (!token || !/^https?:$/.test(win.location.protocol)) return null;
  return { kind: 'http', origin: win.location.origin, token };
}

/**
 * The engine's location, with its status already asked for (the raw answer, not yet parsed).
 * Over the bridge, `status()` hands the answer over once, and only while no event has come since
 * the question (an event may mean the answer is out of date: the transport asks again then). Over
 * HTTP, events come on a WebSocket the transport opens later, and the dashboard refreshes when it
 * opens.
 */
export type EarlyStart =
  | { kind: 'bridge'; bridge: EngineBridge; status: () => Promise<unknown> | null }
  | { kind: 'http'; origin: string; token: string; status: Promise<Response> }
  | null;

/** The HTTP request of a call with `params` (its method is in the URL: apiUrl). */
export function apiRequest(token: string, params: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(params ?? {}) };
}

/** Finds the engine and asks for its status now; the transport picks the answer up. */
export function startEarly(win: Window, fetchImpl: typeof fetch = (...args) => fetch(...args)): EarlyStart {
  const where = locateEngine(win);
  if (!where) return null;
  // A failure is the transport's to report (offline, bad token) when it takes the answer: marked
  // handled here so that a rejection before then is not reported as unhandled.
  if (where.kind === 'http') {
    const status = fetchImpl(apiUrl(where.origin, FIRST_CALL), apiRequest(where.token, {}));
    status.catch(() => {});
    return { ...where, status };
  }
  const call = (where.bridge as Partial<EngineBridge>)[FIRST_CALL];
  if (typeof call !== 'function') return { ...where, status: () => null };
  let changed = false;
  const off = where.bridge.onEvent(() => {
    changed = true;
  });
  let answer: Promise<unknown> | null = (async () => call({}))();
  answer.catch(() => {});
  return {
    ...where,
    status: () => {
      off();
      const a = changed ? null : answer;
      answer = null;
      return a;
    },
  };
}
