/**
 * Every IPC message main accepts goes through here: it must come from the main frame of the one
 * window allowed to send it, loaded from that window's own origin (idleforge://dashboard, …), and
 * its payload must parse with the schema (from protocol/) before any handler sees it. Anything
 * else is refused with a plain error and changes nothing.
 */
import type { z } from 'zod';
import { EngineApiError } from '../protocol/index.js';

/** What main needs of an IPC event (Electron's IpcMainEvent and IpcMainInvokeEvent fit). */
export interface IpcSenderEvent {
  sender: { id: number };
  senderFrame: { url: string; parent: unknown } | null;
}

export interface SenderRule {
  /** The webContents allowed to send, or null while that window does not exist. */
  webContentsId(): number | null;
  /** `scheme://host` the sending frame must be at. */
  origin: string;
}

export type IpcResult = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

/** `scheme://host` of a URL (also for custom schemes, whose URL.origin is "null"), or null. */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.host ? `${u.protocol}//${u.host}` : null;
  } catch {
    return null;
  }
}

/** Why an event is refused, or null when its sender is allowed. */
export function senderProblem(event: IpcSenderEvent, rule: SenderRule): string | null {
  const frame = event.senderFrame;
  if (!frame) return 'the sending frame is gone';
  if (frame.parent !== null) return 'sent from a subframe';
  const id = rule.webContentsId();
  if (id === null || event.sender.id !== id) return 'sent from another window';
  const origin = originOf(frame.url);
  if (origin !== rule.origin) return `sent from ${origin ?? 'an unknown origin'}, not ${rule.origin}`;
  return null;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue?.message ?? 'invalid input'}`;
}

export function errorOf(error: unknown): { code: string; message: string } {
  if (error instanceof EngineApiError) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export interface GuardOptions<S extends z.ZodType> {
  rule: SenderRule;
  schema: S;
  handle(input: z.infer<S>): unknown;
  /** The error code for input that does not parse (default INVALID_PARAMS). */
  invalidCode?: string;
  /** Told about every refusal (main logs them: a refused sender is a bug or an attack). */
  onRefused?(why: string): void;
}

/** An `ipcMain.handle` handler: answers `{ ok, result }` or `{ ok: false, error }`, never throws. */
export function guardedHandler<S extends z.ZodType>(o: GuardOptions<S>): (event: IpcSenderEvent, raw: unknown) => Promise<IpcResult> {
  return async (event, raw) => {
    const problem = senderProblem(event, o.rule);
    if (problem) {
      o.onRefused?.(problem);
      return { ok: false, error: { code: 'FORBIDDEN', message: `refused: ${problem}` } };
    }
    const parsed = o.schema.safeParse(raw ?? {});
    if (!parsed.success) return { ok: false, error: { code: o.invalidCode ?? 'INVALID_PARAMS', message: describe(parsed.error) } };
    try {
      return { ok: true, result: await o.handle(parsed.data) };
    } catch (error) {
      return { ok: false, error: errorOf(error) };
    }
  };
}

/** An `ipcMain.on` listener (no answer): refused or malformed messages are dropped and reported. */
export function guardedListener<S extends z.ZodType>(o: GuardOptions<S>): (event: IpcSenderEvent, raw: unknown) => void {
  return (event, raw) => {
    const problem = senderProblem(event, o.rule);
    if (problem) {
      o.onRefused?.(problem);
      return;
    }
    const parsed = o.schema.safeParse(raw);
    if (!parsed.success) {
      o.onRefused?.(`a message that does not fit: ${describe(parsed.error)}`);
      return;
    }
    o.handle(parsed.data);
  };
}
