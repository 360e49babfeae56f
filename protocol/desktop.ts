/**
 * The desktop shell's own messages (electron/ parses every one with these; the channel names are
 * in electron/channels.ts).
 *
 * The hidden compute renderer: the schemas main parses everything
 * the renderer sends with (the renderer is treated as untrusted: a compromised page must not be
 * able to feed main anything but a well-formed answer). Main → renderer: a task (already parsed
 * by TaskSchema), a benchmark request, stop. Renderer → main: ready (the adapter, or why there is
 * no WebGPU), and one answer per request id.
 */
import { z } from 'zod';

const Text = z.string().max(4000);

export const AdapterInfoSchema = z.object({
  vendor: Text,
  architecture: Text,
  device: Text,
  description: Text,
  software: z.boolean(),
});
/** The GPU adapter a compute host runs on; `software` is true for CPU implementations such as SwiftShader. */
export type AdapterInfo = z.infer<typeof AdapterInfoSchema>;

export const ComputeReadySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), adapter: AdapterInfoSchema }),
  z.object({ ok: z.literal(false), message: Text }),
]);
export type ComputeReady = z.infer<typeof ComputeReadySchema>;

export const KERNEL_ERROR_CODES = ['VALIDATION', 'OUT_OF_MEMORY', 'DEVICE_LOST', 'ABORTED', 'INTERNAL'] as const;
const FailureSchema = z.object({
  ok: z.literal(false),
  error: z.object({ code: z.string().max(64), message: Text }),
});

/** A task's outcome: its output in wire form (the hub checks it), or why it failed. */
export const RunAnswerSchema = z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), output: z.record(z.string(), z.unknown()) }), FailureSchema]);
export type RunAnswer = z.infer<typeof RunAnswerSchema>;

export const BenchmarkAnswerSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), score: z.object({ gflops: z.number().nonnegative(), mhs: z.number().nonnegative(), renderGflops: z.number().nonnegative().optional() }) }),
  FailureSchema,
]);
export type BenchmarkAnswer = z.infer<typeof BenchmarkAnswerSchema>;

export const AnswerMessageSchema = z.object({ id: z.number().int().nonnegative(), answer: z.unknown() });
/** The compute page's word that the GPU is done with request `id`'s task (its answer follows once encoded). */
export const ComputedMessageSchema = z.object({ id: z.number().int().nonnegative() });

/** Shortest passphrase a wallet accepts (headless and in the desktop's passphrase window). */
export const MIN_PASSPHRASE = 8;

/** The passphrase window's one input. */
export const PassphraseSubmitSchema = z
  .object({ passphrase: z.string().min(MIN_PASSPHRASE, `a passphrase needs at least ${MIN_PASSPHRASE} characters`).max(1024, 'at most 1024 characters') })
  .strict();

/** A message that carries nothing (a request for the passphrase window's state, a cancel). */
export const EmptyMessageSchema = z.object({}).strict();
