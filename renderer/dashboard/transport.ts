/**
 * How the dashboard reaches the engine. In the desktop app the preload exposes a bridge object
 * (`window.idleforgeEngine`); in a browser opened on the headless worker it is HTTP + WebSocket on
 * 127.0.0.1 with the token from the page's fragment (`#token=…`). Both feed createEngineClient,
 * so everything above this file is the same code.
 */
import {
  EngineApiError,
  EngineEventSchema,
  type EngineBridge,
  type EngineEvent,
  type EngineMethod,
} from '../../protocol/engine-api.js';
import { ErrorBodySchema } from '../../protocol/common.js';
import { apiRequest, apiUrl, locateEngine, type EarlyStart } from './boot.js';

export { tokenFromHash } from './boot.js';

export type Connection = 'connecting' | 'online' | 'offline';

export interface EngineTransport {
  readonly kind: 'bridge' | 'http';
  call(method: EngineMethod, params: unknown): Promise<unknown>;
  onEvent(listener: (e: EngineEvent) => void): () => void;
  onConnection(listener: (c: Connection) => void): () => void;
  readonly connection: Connection;
  /** Try to reconnect now (the "Retry" button). */
  retry(): void;
  close(): void;
  /**
   * Where the earnings CSV downloads as a stream (over HTTP: the engine writes it a page of
   * entries at a time); absent over IPC, where `exportEarningsCsv` answers with the text.
   */
  readonly csvUrl?: string;
}

/** Codes the dashboard words itself: the engine is away, or the link's token is not (or no longer) good. */
export const OFFLINE = 'OFFLINE';
export const BAD_TOKEN = 'BAD_TOKEN';

class Listeners<T> {
  private readonly set = new Set<(v: T) => void>();
  add(l: (v: T) => void): () => void {
    this.set.add(l);
    return () => this.set.delete(l);
  }
  emit(v: T): void {
    for (const l of [...this.set]) l(v);
  }
}

/**
 * The answer to the first getStatus call, when it was asked for before the transport existed
 * (boot.ts); taken once, then every call goes out as usual.
 */
function firstAnswer<T>(early: Promise<T> | null | undefined): (method: EngineMethod) => Promise<T> | null {
  let pending = early ?? null;
  return (method) => {
    if (method !== 'getStatus' || !pending) return null;
    const p = pending;
    pending = null;
    return p;
  };
}

/** The desktop app's preload bridge: IPC, always "online" while the window lives. */
export function bridgeTransport(bridge: EngineBridge, earlyStatus?: Promise<unknown> | null): EngineTransport {
  const early = firstAnswer(earlyStatus);
  const events = new Listeners<EngineEvent>();
  const off = bridge.onEvent((raw) => {
    const parsed = EngineEventSchema.safeParse(raw);
    if (parsed.success) events.emit(parsed.data);
  });
  return {
    kind: 'bridge',
    connection: 'online',
    async call(method, params) {
      const fn = (bridge as Partial<Record<EngineMethod, (p: unknown) => Promise<unknown>>>)[method];
      if (typeof fn !== 'function') throw new EngineApiError('UNKNOWN_METHOD', `this version of the app cannot ${method} yet; update Idleforge`);
      try {
        return await (early(method) ?? fn(params));
      } catch (error) {
        throw asEngineError(error);
      }
    },
    onEvent: (l) => events.add(l),
    onConnection: () => () => {},
    retry: () => {},
    close: off,
  };
}

/** Errors from IPC arrive as plain objects or Errors whose message names the code. */
function asEngineError(error: unknown): EngineApiError {
  if (error instanceof EngineApiError) return error;
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message.replace(/^Error invoking remote method '[^']+': (\w+: )?/, '') : String(error);
  const code = typeof e?.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code) ? e.code : 'ENGINE';
  return new EngineApiError(code, message);
}

export interface HttpTransportOptions {
  /** http://127.0.0.1:PORT */
  origin: string;
  token: string;
  WebSocketImpl?: typeof WebSocket;
  fetchImpl?: typeof fetch;
  /** Reconnect waits double from min to max (ms). */
  backoff?: { min: number; max: number };
  /** The response to a getStatus request already sent (boot.ts): the first getStatus call's answer. */
  earlyStatus?: Promise<Response> | null;
}

/** HTTP for calls, a WebSocket for events; reconnects with backoff and says when it is offline. */
export function httpTransport(o: HttpTransportOptions): EngineTransport {
  const events = new Listeners<EngineEvent>();
  const connections = new Listeners<Connection>();
  const backoff = o.backoff ?? { min: 1000, max: 10_000 };
  const doFetch = o.fetchImpl ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const WS = o.WebSocketImpl ?? WebSocket;
  let connection: Connection = 'connecting';
  let socket: WebSocket | null = null;
  let wait = backoff.min;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;
  let badToken = false;
  const early = firstAnswer(o.earlyStatus);

  const set = (c: Connection): void => {
    if (c === connection) return;
    connection = c;
    connections.emit(c);
  };

  const schedule = (): void => {
    if (closed || timer || badToken) return;
    timer = setTimeout(() => {
      timer = null;
      connect();
    }, wait);
    wait = Math.min(backoff.max, wait * 2);
  };

  const connect = (): void => {
    if (closed || socket) return;
    const url = `${o.origin.replace(/^http/, 'ws')}/api/v1/events?token=${encodeURIComponent(o.token)}`;
    let ws: WebSocket;
    try {
      ws = new WS(url);
    } catch {
      set('offline');
      schedule();
      return;
    }
    socket = ws;
    ws.onopen = () => {
      wait = backoff.min;
      set('online');
    };
    ws.onmessage = (m: MessageEvent) => {
      let raw: unknown;
      try {
        raw = JSON.parse(String(m.data));
      } catch {
        return;
      }
      const parsed = EngineEventSchema.safeParse(raw);
      if (parsed.success) events.emit(parsed.data);
    };
    ws.onclose = () => {
      socket = null;
      set('offline');
      schedule();
    };
    ws.onerror = () => ws.close();
  };

  connect();

  return {
    kind: 'http',
    csvUrl: `${o.origin}/api/v1/earnings.csv?token=${encodeURIComponent(o.token)}`,
    get connection() {
      return connection;
    },
    async call(method, params) {
      let res: Response;
      try {
        res = await (early(method) ?? doFetch(apiUrl(o.origin, method), apiRequest(o.token, params)));
      } catch {
        set('offline');
        schedule();
        throw new EngineApiError(OFFLINE, 'The Idleforge engine is not answering. Is the worker still running?');
      }
      let body: unknown = null;
      try {
        body = await res.json();
      } catch {
        // An empty or non-JSON answer: judged by its status below.
      }
      if (res.ok) return body;
      const err = ErrorBodySchema.safeParse(body);
      if (res.status === 401) {
        badToken = true;
        throw new EngineApiError(BAD_TOKEN, 'This dashboard address is out of date: the worker restarted and printed a new one. Open that address.');
      }
      throw new EngineApiError(err.success ? err.data.error.code : `HTTP_${res.status}`, err.success ? err.data.error.message : `the engine answered ${res.status}`);
    },
    onEvent: (l) => events.add(l),
    onConnection: (l) => connections.add(l),
    retry() {
      if (timer) clearTimeout(timer);
      timer = null;
      badToken = false;
      wait = backoff.min;
      set('connecting');
      connect();
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      socket?.close();
    },
  };
}

/**
 * The transport this page should use, or null when it was opened without a way to the engine.
 * `early` (boot.ts's startEarly) carries the way found and the status already asked for.
 */
export function detectTransport(win: Window, early?: EarlyStart): EngineTransport | null {
  if (early === undefined) {
    const where = locateEngine(win);
    if (!where) return null;
    return where.kind === 'bridge' ? bridgeTransport(where.bridge) : httpTransport({ origin: where.origin, token: where.token });
  }
  if (!early) return null;
  return early.kind === 'bridge' ? bridgeTransport(early.bridge, early.status()) : httpTransport({ origin: early.origin, token: early.token, earlyStatus: early.status });
}
