/**
 * `--json` output of long-running commands: one object per line, each with an `event` field.
 * Scripts and tests parse these lines with the schemas below.
 */
import { z } from 'zod';
import { AddressSchema, AmountSchema, IdSchema } from './common.js';
import { WorkerStateSchema } from './http.js';

export const ReadyEventSchema = z.object({
  event: z.literal('ready'),
  hub: z.string().url(),
  rpc: z.string().url().nullable(),
  chainId: z.number().int().positive(),
  token: AddressSchema.nullable(),
  customerKey: z.string().min(16),
});
export const CreditedEventSchema = z.object({
  event: z.literal('credited'),
  taskId: IdSchema,
  kind: z.string().optional(),
  amount: AmountSchema,
});
export const StateEventSchema = z.object({ event: z.literal('state'), state: WorkerStateSchema, reason: z.string() });
export const DashboardEventSchema = z.object({ event: z.literal('dashboard'), url: z.string().url() });
export const RejectedEventSchema = z.object({ event: z.literal('rejected'), taskId: IdSchema, reason: z.string() });
export const ErrorEventSchema = z.object({ event: z.literal('error'), message: z.string() });
export const SignedInEventSchema = z.object({ event: z.literal('signed-in'), address: AddressSchema, hub: z.string().url() });
export const JobEventSchema = z.object({ event: z.literal('job'), id: IdSchema, status: z.string(), tasks: z.number().int() });

/** Another rig of the owner's went offline, came back, stopped for heat or had results rejected. */
export const RigAlertEventSchema = z.object({
  event: z.literal('rig-alert'),
  alert: z.enum(['offline', 'online', 'too-hot', 'wrong-results']),
  rig: AddressSchema,
  name: z.string(),
  message: z.string(),
});
/** A command from another rig, applied or refused (with why). */
export const RigCommandEventSchema = z.object({
  event: z.literal('rig-command'),
  action: z.string(),
  from: AddressSchema,
  fromName: z.string().nullable(),
  outcome: z.enum(['applied', 'refused']),
  reason: z.string().nullable(),
});

export const CliEventSchema = z.discriminatedUnion('event', [
  RigAlertEventSchema,
  RigCommandEventSchema,
  ReadyEventSchema,
  CreditedEventSchema,
  StateEventSchema,
  DashboardEventSchema,
  RejectedEventSchema,
  ErrorEventSchema,
  SignedInEventSchema,
  JobEventSchema,
]);
export type CliEvent = z.infer<typeof CliEventSchema>;
