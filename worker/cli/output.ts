/** How commands speak: JSON lines on stdout with --json, plain sentences otherwise. */
import type { CliEvent } from '../../protocol/index.js';

export interface Output {
  readonly json: boolean;
  /** A machine-readable event: printed only with --json. */
  event(e: CliEvent): void;
  /** A line for people: stdout normally, stderr with --json so stdout stays parseable. */
  info(line: string): void;
  /** A whole JSON document (for one-shot commands). */
  document(value: unknown): void;
  error(line: string): void;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    event: (e) => {
      if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
    },
    info: (line) => {
      (json ? process.stderr : process.stdout).write(`${line}\n`);
    },
    document: (value) => process.stdout.write(`${JSON.stringify(value, null, json ? undefined : 2)}\n`),
    error: (line) => process.stderr.write(`idleforge: ${line}\n`),
  };
}

export { UsageError } from '../../lib/cli.js';
