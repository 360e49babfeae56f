/**
 * The `idleforge` command's dispatcher. Each part lists its commands (`Command`: name, usage,
 * run): worker/cli/commands.ts, hub/commands.ts, bench/commands.ts, and `start` in cli/main.ts,
 * which gathers them into one `Program`. `runProgram` picks the command the arguments name (the
 * longest name that matches: `hub credit` before `hub`), runs it and turns what it throws into an
 * exit code; the help and each command's usage are written from the same list.
 *
 * Exit codes: what the command returns; 2 for a usage error (a `UsageError`, or a flag that
 * node:util's parseArgs refuses: the message, then the command's usage) and for an unknown
 * command; 1 for any other error (`error: <message>` on stderr).
 */

/** Thrown by a command whose arguments do not fit: exit code 2, with the command's usage. */
export class UsageError extends Error {}

/** Where a command writes its lines (tests pass their own). */
export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Stops a long-running command as SIGINT/SIGTERM would (tests). */
  signal?: AbortSignal;
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export interface CommandContext {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  /** This command's usage, as a usage error prints it (for a command that answers --help). */
  usage: string;
}

export interface Command {
  /** The words that name it: `worker`, `hub credit`, `bench kernels`. */
  name: string;
  /** Its arguments after the name, as the help shows them; a new line continues them. */
  usage: string;
  /** What it does: the help's right-hand column, one or more lines. */
  summary: string;
  /** Its flags explained, printed under its usage when that is shown alone. */
  details?: string;
  /** With --json, a failure is also an `error` event on stdout (docs/PROTOCOL.md). */
  errorEvent?: boolean;
  run(argv: string[], ctx: CommandContext): Promise<number> | number;
}

export interface Section {
  title: string;
  commands: readonly Command[];
  /** Printed after the section's commands: what they share (common flags). */
  notes?: string;
}

export interface Program {
  sections: readonly Section[];
  /** The help's first line. */
  title?: string;
  /** Printed by `version` and `--version`. */
  version?: string;
  /** The help's last lines. */
  footer?: string;
  /** With no command at all: the help on stdout and exit 0 ('help'), or on stderr and exit 2 ('usage'). */
  bare: 'help' | 'usage';
}

const PROGRAM = 'idleforge';
/** The column summaries start at. */
const COLUMN = 44;

/** One command's lines: its name and usage after `prefix`, its summary from COLUMN. */
function entry(c: Command, prefix: string): string[] {
  const [first = '', ...more] = `${c.name} ${c.usage}`.trimEnd().split('\n');
  const continued = ' '.repeat(prefix.length + c.name.length + 1);
  const lines = [`${prefix}${first}`, ...more.map((l) => `${continued}${l}`)];
  const summary = c.summary.split('\n');
  const last = lines.length - 1;
  if (lines[last]!.length + 2 <= COLUMN) lines[last] = `${lines[last]!.padEnd(COLUMN)}${summary.shift() ?? ''}`;
  return [...lines, ...summary.map((l) => `${' '.repeat(COLUMN)}${l}`)];
}

/** The help: every section's commands, as registered. */
export function helpText(p: Program): string {
  const parts = p.title ? [p.title, ''] : [];
  parts.push(`Usage: ${PROGRAM} <command> [options]`);
  for (const s of p.sections) {
    parts.push('', `${s.title}:`, ...s.commands.flatMap((c) => entry(c, '  ')));
    if (s.notes) parts.push('', s.notes);
  }
  if (p.footer) parts.push('', p.footer);
  return parts.join('\n');
}

/** One command's usage, with its flags explained and its section's notes. */
export function usageText(p: Program, c: Command): string {
  const notes = p.sections.find((s) => s.commands.includes(c))?.notes;
  return ['Usage:', ...entry(c, `  ${PROGRAM} `), ...(c.details ? ['', c.details] : []), ...(notes ? ['', notes] : [])].join('\n');
}

/** The command `argv` names (the longest name that matches) and the arguments after its name. */
export function findCommand(p: Program, argv: readonly string[]): { command: Command; rest: string[] } | null {
  let found: Command | null = null;
  let words = 0;
  for (const c of p.sections.flatMap((s) => s.commands)) {
    const name = c.name.split(' ');
    if (name.length > words && name.every((w, i) => argv[i] === w)) {
      found = c;
      words = name.length;
    }
  }
  return found ? { command: found, rest: argv.slice(words) } : null;
}

export function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || (error instanceof Error && 'code' in error && typeof error.code === 'string' && error.code.startsWith('ERR_PARSE_ARGS'));
}

const list = (xs: string[]): string => (xs.length > 1 ? `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)}` : (xs[0] ?? ''));

/** Runs the command `argv` names; resolves with the process's exit code. */
export async function runProgram(p: Program, argv: string[], io: CliIo = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [first] = argv;
  if (first === undefined) {
    if (p.bare === 'help') io.out(helpText(p));
    else io.err(helpText(p));
    return p.bare === 'help' ? 0 : 2;
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    io.out(helpText(p));
    return 0;
  }
  if (p.version !== undefined && (first === 'version' || first === '--version')) {
    io.out(p.version);
    return 0;
  }
  const found = findCommand(p, argv);
  if (!found) {
    const group = p.sections.flatMap((s) => s.commands).filter((c) => c.name.startsWith(`${first} `));
    if (group.length > 0) {
      io.err(`error: ${first} what? ${list(group.map((c) => c.name.slice(first.length + 1)))} (e.g. ${PROGRAM} ${group[0]!.name})`);
    } else {
      io.err(`error: unknown command "${first}"\n\n${helpText(p)}`);
    }
    return 2;
  }
  const { command, rest } = found;
  const usage = usageText(p, command);
  try {
    return await command.run(rest, { io, env, usage });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(`error: ${message}`);
    if (isUsageError(error)) {
      io.err(usage);
      return 2;
    }
    if (command.errorEvent && rest.includes('--json')) io.out(JSON.stringify({ event: 'error', message }));
    return 1;
  }
}
