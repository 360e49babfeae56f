/**
 * The worker's side of the v1 protocol. Every response is parsed with the protocol schemas;
 * sign-in is EIP-4361 with the worker's key and is redone once when the token is refused.
 */
import type { z } from 'zod';
import {
  ChallengeResponseSchema,
  CommandSentSchema,
  CommandsResponseSchema,
  EarningsResponseSchema,
  FleetJoinResponseSchema,
  FleetResponseSchema,
  PairingCodeResponseSchema,
  canonicalCommand,
  ErrorBodySchema,
  HealthSchema,
  LeaseResponseSchema,
  LoginResponseSchema,
  MATMUL_MAX_ELEMENTS,
  OkSchema,
  PayoutAddressResponseSchema,
  PayoutsResponseSchema,
  ReceivedPayoutsResponseSchema,
  type ReceivedPayoutsResponse,
  RatesSchema,
  ResultResponseSchema,
  NO_WORK_HEADER,
  TASK_FRAME_TYPE,
  decodeTaskFrame,
  parseSiweMessage,
  type DeliveredCommand,
  type EarningEntry,
  type FleetJoinRequest,
  type FleetResponse,
  type PairingCodeResponse,
  type RigCommand,
  type EarningsResponse,
  type Health,
  type HeartbeatRequest,
  type Rates,
  type ResultResponse,
  type Task,
} from '../protocol/index.js';
import { rawResultOf } from '../jobs/index.js';
import { BufferPool, HttpClient, type HttpAnswer } from './http.js';

/** Task frames kept for reuse: the one running, two leased ahead, one arriving. */
const LEASE_BUFFERS = 4;
/** Answers smaller than this are read into fresh memory (Node's own small-buffer pool). */
const POOLED_FROM_BYTES = 64 * 1024;
/** Pooled memory is handed out in whole granules of this size. */
const POOL_GRANULE = 256 * 1024;

/**
 * The largest answer read from a hub: a lease of the largest matmul the protocol allows (two
 * matrices of MATMUL_MAX_ELEMENTS f32s, as base64 in JSON) and a megabyte more; anything bigger
 * is refused rather than held in memory.
 */
const MAX_ANSWER_BYTES = Math.ceil((2 * 4 * MATMUL_MAX_ELEMENTS * 4) / 3) + (1 << 20);

/**
 * The worker's view of a hub answer it cannot use: an error status (`status`, with the hub's
 * `code`), an answer that does not fit the protocol, or a sign-in challenge it refuses to sign
 * (status 0).
 */
export class HubAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
    this.name = 'HubAnswerError';
  }
}

/** The hub could not be reached at all (refused, reset, timed out). */
export class HubUnreachableError extends Error {
  constructor(readonly url: string, cause: unknown) {
    super(`cannot reach the hub at ${url}: ${cause instanceof Error ? (cause.cause instanceof Error ? cause.cause.message : cause.message) : String(cause)}`);
    this.name = 'HubUnreachableError';
  }
}

/** What signs in: the worker's wallet (or its device key); never leaves this process. */
export interface HubSigner {
  readonly address: string;
  signMessage(message: string): Promise<string>;
}

export interface HubClientOptions {
  hubUrl: string;
  wallet: HubSigner;
  timeoutMs?: number;
}

export class HubClient {
  readonly hubUrl: string;
  private token: string | null = null;
  private tokenExpiresAt = 0;
  private lastNoWork: string | null = null;
  private readonly wallet: HubSigner;
  private readonly http: HttpClient;
  /** Memory for task frames, reused (see BufferPool), and the frame each leased task lives in. */
  private readonly pool = new BufferPool(LEASE_BUFFERS, POOL_GRANULE, POOLED_FROM_BYTES);
  private readonly frames = new WeakMap<Task, Buffer>();

  constructor(options: HubClientOptions) {
    this.hubUrl = options.hubUrl.replace(/\/+$/, '');
    this.wallet = options.wallet;
    this.http = new HttpClient(this.hubUrl, { timeoutMs: options.timeoutMs ?? 60_000, maxBodyBytes: MAX_ANSWER_BYTES });
  }

  /** Closes the kept-alive connections to the hub (requests in flight finish first). */
  close(): void {
    this.http.close();
  }

  get address(): string {
    return this.wallet.address;
  }

  health(): Promise<Health> {
    return this.request('GET', '/v1/health', HealthSchema, { auth: false });
  }

  /** The hub's rates, demand, reference price and strike limit (`GET /v1/rates`, no token). */
  rates(): Promise<Rates> {
    return this.request('GET', '/v1/rates', RatesSchema, { auth: false });
  }

  /** Signs in with EIP-4361; checks the message is for this hub and this address before signing. */
  async signIn(): Promise<void> {
    const { message } = await this.request('POST', '/v1/auth/challenge', ChallengeResponseSchema, {
      auth: false,
      body: { address: this.wallet.address },
    });
    const fields = parseSiweMessage(message);
    const expectedHost = new URL(this.hubUrl).host;
    if (!fields) throw new HubAnswerError(0, 'BAD_CHALLENGE', 'the hub sent a sign-in message that is not EIP-4361');
    if (fields.domain !== expectedHost) {
      throw new HubAnswerError(0, 'BAD_CHALLENGE', `the hub asked to sign in for ${fields.domain}, not ${expectedHost}; refusing to sign`);
    }
    if (fields.address.toLowerCase() !== this.wallet.address.toLowerCase()) {
      throw new HubAnswerError(0, 'BAD_CHALLENGE', 'the hub asked to sign for another address; refusing to sign');
    }
    const signature = await this.wallet.signMessage(message);
    const login = await this.request('POST', '/v1/auth/login', LoginResponseSchema, {
      auth: false,
      body: { message, signature },
    });
    this.token = login.token;
    this.tokenExpiresAt = Date.parse(login.expiresAt);
  }

  async heartbeat(body: HeartbeatRequest): Promise<void> {
    await this.request('POST', '/v1/workers/heartbeat', OkSchema, { body });
  }

  /** Why the last lease found no work for this worker, when the hub said (a limit), else null. */
  get noWorkReason(): string | null {
    return this.lastNoWork;
  }

  /**
   * Leases one task, or returns null when the hub has no work (204). Asks for the binary task
   * frame (docs/PROTOCOL.md): a matrix arrives as raw bytes and goes to the GPU as a view of
   * them; a hub that only speaks JSON answers in JSON, which is read as well.
   */
  async lease(kinds: readonly string[]): Promise<Task | null> {
    this.lastNoWork = null;
    const frame: { body: Buffer | null } = { body: null };
    const res = await this.request('POST', '/v1/tasks/lease', LeaseResponseSchema, { body: { kinds }, allowNoContent: true, frame });
    const task = res?.task ?? null;
    if (task && frame.body) this.frames.set(task, frame.body);
    return task;
  }

  /**
   * Says that nothing reads `task`'s inputs any more (it ran, failed or was dropped): the memory
   * its task frame arrived in is reused for a later lease. Optional: a task never recycled is
   * simply collected.
   */
  recycle(task: Task): void {
    const body = this.frames.get(task);
    if (!body) return;
    this.frames.delete(task);
    this.pool.give(body);
  }

  /**
   * Submits a task's result (`output` in wire form, of a task of `kind`). A result its kind sends
   * as raw bytes (jobs/ `rawResultField`: matmul's C as f32, a render tile as f16) goes as those
   * bytes (application/octet-stream, see docs/PROTOCOL.md): a quarter smaller than the same bytes
   * as base64 in JSON, and nothing for the hub to parse. Anything else goes as JSON.
   */
  submit(taskId: string, kind: string, output: Record<string, unknown>): Promise<ResultResponse> {
    const path = `/v1/tasks/${encodeURIComponent(taskId)}/result`;
    const bytes = rawResultOf(kind, output);
    if (bytes) return this.request('POST', path, ResultResponseSchema, { bytes: bytes as Uint8Array<ArrayBuffer> });
    return this.request('POST', path, ResultResponseSchema, { body: { output } });
  }

  /** Gives a leased task back to the hub's queue (paused or stopping before running it). */
  async release(taskId: string): Promise<void> {
    await this.request('POST', `/v1/tasks/${encodeURIComponent(taskId)}/release`, OkSchema, { body: {} });
  }

  earningsPage(after?: string): Promise<EarningsResponse> {
    const query = after === undefined ? '' : `?after=${encodeURIComponent(after)}`;
    return this.request('GET', `/v1/earnings${query}`, EarningsResponseSchema);
  }

  /**
   * One page of the entries created or changed after the change number `changedAfter` (GET
   * /v1/earnings?changedAfter=): `changeCursor` is where the next read starts, null from a hub
   * that does not number its changes (it answered as to a first `after` page).
   */
  async earningsChanges(changedAfter: string, limit = 1000): Promise<{ entries: EarningEntry[]; changeCursor: string | null; more: boolean }> {
    const page = await this.request('GET', `/v1/earnings?changedAfter=${encodeURIComponent(changedAfter)}&limit=${limit}`, EarningsResponseSchema);
    return { entries: page.entries, changeCursor: page.changeCursor ?? null, more: page.nextCursor !== null };
  }

  /** Every ledger entry of this worker, following the cursor to the end. */
  async allEarnings(): Promise<{ entries: EarningEntry[]; balance: EarningsResponse['balance'] }> {
    const entries: EarningEntry[] = [];
    let page = await this.earningsPage();
    entries.push(...page.entries);
    while (page.nextCursor !== null) {
      page = await this.earningsPage(page.nextCursor);
      entries.push(...page.entries);
    }
    return { entries, balance: page.balance };
  }

  /** Registers a watch-only payout address with the hub (null: pay this worker's own address). */
  async registerPayoutAddress(address: string | null): Promise<string> {
    const res = await this.request('POST', '/v1/workers/payout-address', PayoutAddressResponseSchema, { body: { address } });
    return res.payoutAddress;
  }

  // ---- rigs (docs/PROTOCOL.md, "Rigs") ----
  /** The fleet this rig proved it belongs to; a 403 NOT_IN_FLEET when it proved none. */
  fleet(): Promise<FleetResponse> {
    return this.request('GET', '/v1/fleet', FleetResponseSchema);
  }

  /** A one-time code for another rig to join this rig's fleet. */
  pairingCode(): Promise<PairingCodeResponse> {
    return this.request('POST', '/v1/fleet/pairing-codes', PairingCodeResponseSchema, { body: {} });
  }

  /** Proves this rig belongs to the fleet of the address it pays to (a code, or that address's signature). */
  async joinFleet(proof: FleetJoinRequest): Promise<string> {
    return (await this.request('POST', '/v1/fleet/join', FleetJoinResponseSchema, { body: proof })).payoutAddress;
  }

  /** Signs `command` with this rig's own key (EIP-191 over its canonical JSON) and hands it to the hub. */
  async sendCommand(command: RigCommand): Promise<string> {
    const signature = await this.wallet.signMessage(canonicalCommand(command));
    return (await this.request('POST', '/v1/fleet/commands', CommandSentSchema, { body: { command, signature } })).id;
  }

  /** The live commands for this rig after the hub's id `after`, oldest first. */
  async commands(after: string): Promise<DeliveredCommand[]> {
    return (await this.request('GET', `/v1/fleet/commands?after=${encodeURIComponent(after)}`, CommandsResponseSchema)).commands;
  }

  payouts(): Promise<z.infer<typeof PayoutsResponseSchema>> {
    return this.request('GET', '/v1/payouts', PayoutsResponseSchema);
  }

  /** Every payout the hub sent to this worker's payout address, from every worker paying there. */
  receivedPayouts(): Promise<ReceivedPayoutsResponse> {
    return this.request('GET', '/v1/payouts/received', ReceivedPayoutsResponseSchema);
  }

  /** A page of the payouts, newest first, after the payout `before` (no `nextCursor`: a hub that does not page them sent them all). */
  payoutsPage(before: string | null, limit = 100): Promise<z.infer<typeof PayoutsResponseSchema>> {
    const query = `?limit=${limit}${before === null ? '' : `&before=${encodeURIComponent(before)}`}`;
    return this.request('GET', `/v1/payouts${query}`, PayoutsResponseSchema);
  }

  private async request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    opts: { auth?: boolean; body?: unknown; bytes?: Uint8Array<ArrayBuffer>; allowNoContent: true; frame?: { body: Buffer | null } },
  ): Promise<z.infer<S> | null>;
  private async request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    opts?: { auth?: boolean; body?: unknown; bytes?: Uint8Array<ArrayBuffer>; allowNoContent?: false },
  ): Promise<z.infer<S>>;
  private async request<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    opts: {
      auth?: boolean;
      body?: unknown;
      bytes?: Uint8Array<ArrayBuffer>;
      allowNoContent?: boolean;
      /** Ask for a task frame; `body` is set to the memory the frame was read into. */
      frame?: { body: Buffer | null };
    } = {},
  ): Promise<z.infer<S> | null> {
    const auth = opts.auth ?? true;
    for (let attempt = 0; ; attempt++) {
      if (auth && (this.token === null || Date.now() > this.tokenExpiresAt - 30_000)) await this.signIn();
      const headers: Record<string, string> = {};
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      if (opts.bytes !== undefined) headers['content-type'] = 'application/octet-stream';
      if (auth && this.token) headers.authorization = `Bearer ${this.token}`;
      if (opts.frame) headers.accept = `${TASK_FRAME_TYPE}, application/json;q=0.9`;
      let res: HttpAnswer;
      try {
        res = await this.http.request({
          method,
          path,
          headers,
          ...(opts.frame ? { into: (length: number) => this.pool.take(length) } : {}),
          ...(opts.bytes !== undefined ? { body: opts.bytes } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        });
      } catch (error) {
        throw new HubUnreachableError(this.hubUrl, error);
      }
      if (res.status === 401 && auth && attempt === 0) {
        this.token = null;
        continue;
      }
      if (res.status === 204 && opts.allowNoContent) {
        this.lastNoWork = noWorkWords(res.headers[NO_WORK_HEADER]);
        return null;
      }
      const ok = res.status >= 200 && res.status < 300;
      let json: unknown;
      if (opts.frame && ok && res.headers['content-type']?.split(';')[0]?.trim() === TASK_FRAME_TYPE) {
        try {
          json = decodeTaskFrame(new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.byteLength));
          opts.frame.body = res.body;
        } catch (error) {
          this.pool.give(res.body);
          throw new HubAnswerError(res.status, 'BAD_RESPONSE', `the hub's answer to ${method} ${path}: ${error instanceof Error ? error.message : String(error)}`);
        }
      } else {
        const text = res.body.toString('utf8');
        if (opts.frame) this.pool.give(res.body);
        try {
          json = text === '' ? undefined : JSON.parse(text);
        } catch {
          throw new HubAnswerError(res.status, 'BAD_RESPONSE', `the hub answered ${method} ${path} with something that is not JSON`);
        }
      }
      if (!ok) {
        const err = ErrorBodySchema.safeParse(json);
        const retry = Number(res.headers['retry-after']);
        throw new HubAnswerError(
          res.status,
          err.success ? err.data.error.code : 'HTTP_ERROR',
          err.success ? err.data.error.message : `the hub answered ${res.status}`,
          Number.isFinite(retry) && retry > 0 ? retry : null,
        );
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new HubAnswerError(res.status, 'BAD_RESPONSE', `the hub's answer to ${method} ${path} does not fit the protocol: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`);
      }
      return parsed.data as z.infer<S>;
    }
  }
}

/** The hub's reason for a 204, kept only as one short line of printable text. */
function noWorkWords(header: string | string[] | undefined): string | null {
  const text = Array.isArray(header) ? header[0] : header;
  if (!text || text.length > 200 || !/^[\x20-\x7e]+$/.test(text)) return null;
  return text;
}
