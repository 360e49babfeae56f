/** The dispatcher: which command runs, its exit code, and the help written from the registrations. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { findCommand, helpText, runProgram, UsageError, usageText, type CliIo, type Command, type Program } from './cli.js';

function recorder(): CliIo & { outLines: string[]; errLines: string[] } {
  const outLines: string[] = [];
  const errLines: string[] = [];
  return { outLines, errLines, out: (l) => outLines.push(l), err: (l) => errLines.push(l) };
}

const ran: string[][] = [];
const commands: Command[] = [
  { name: 'serve', usage: '--db FILE [--port N]', summary: 'serves', run: (argv) => (ran.push(['serve', ...argv]), 0) },
  { name: 'serve credit', usage: '--amount N', summary: 'credits\nonce per id', run: (argv) => (ran.push(['serve credit', ...argv]), 3) },
  {
    name: 'work',
    usage: '[--json] [--once N]\n[--gpu NAME]...',
    summary: 'works',
    errorEvent: true,
    run: (argv) => {
      parseArgs({ args: argv, options: { json: { type: 'boolean' }, once: { type: 'string' } }, strict: true });
      if (argv.includes('--once')) throw new UsageError('--once takes a number');
      throw new Error('the hub is gone');
    },
  },
  { name: 'bench a', usage: '', summary: 'bench a', run: () => 0 },
  { name: 'bench b', usage: '', summary: 'bench b', run: (_argv, ctx) => (ctx.io.out(ctx.usage), 0) },
];
const program: Program = {
  title: 'Tool 1.0',
  version: '1.0',
  sections: [
    { title: 'Serve', commands: commands.slice(0, 2) },
    { title: 'Work', commands: commands.slice(2, 3), notes: '  --data DIR   where' },
    { title: 'Measure', commands: commands.slice(3) },
  ],
  footer: 'The end.',
  bare: 'help',
};

describe('command dispatcher', () => {
  it('runs the command with the longest name the arguments start with, passing what follows', async () => {
    ran.length = 0;
    const io = recorder();
    assert.equal(await runProgram(program, ['serve', '--db', 'x'], io), 0);
    assert.equal(await runProgram(program, ['serve', 'credit', '--amount', '5'], io), 3);
    assert.deepEqual(ran, [
      ['serve', '--db', 'x'],
      ['serve credit', '--amount', '5'],
    ]);
    assert.equal(findCommand(program, ['serve', 'credits'])?.command.name, 'serve');
    assert.equal(findCommand(program, ['nope']), null);
  });

  it('a usage error or a refused flag exits 2 with the command’s usage; any other error exits 1', async () => {
    const usage = recorder();
    assert.equal(await runProgram(program, ['work', '--once', '3'], usage), 2);
    assert.equal(usage.errLines[0], 'error: --once takes a number');
    assert.equal(usage.errLines[1], usageText(program, commands[2]!));
    const flag = recorder();
    assert.equal(await runProgram(program, ['work', '--bogus'], flag), 2);
    assert.match(flag.errLines[0] ?? '', /^error: Unknown option '--bogus'/);
    const failed = recorder();
    assert.equal(await runProgram(program, ['work'], failed), 1);
    assert.deepEqual(failed.errLines, ['error: the hub is gone']);
    assert.deepEqual(failed.outLines, []);
    const json = recorder();
    assert.equal(await runProgram(program, ['work', '--json'], json), 1);
    assert.deepEqual(json.outLines.map((l) => JSON.parse(l) as unknown), [{ event: 'error', message: 'the hub is gone' }], 'with --json, also an error event');
  });

  it('an unknown command exits 2 with the help; a group without its second word names its members', async () => {
    const unknown = recorder();
    assert.equal(await runProgram(program, ['nope'], unknown), 2);
    assert.equal(unknown.errLines.join('\n'), `error: unknown command "nope"\n\n${helpText(program)}`);
    const group = recorder();
    assert.equal(await runProgram(program, ['bench', 'c'], group), 2);
    assert.deepEqual(group.errLines, ['error: bench what? a or b (e.g. idleforge bench a)']);
  });

  it('help, version, and no command at all', async () => {
    const help = recorder();
    assert.equal(await runProgram(program, ['--help'], help), 0);
    assert.deepEqual(help.outLines, [helpText(program)]);
    const version = recorder();
    assert.equal(await runProgram(program, ['--version'], version), 0);
    assert.deepEqual(version.outLines, ['1.0']);
    const bare = recorder();
    assert.equal(await runProgram(program, [], bare), 0);
    assert.deepEqual(bare.outLines, [helpText(program)]);
    const strict = recorder();
    assert.equal(await runProgram({ ...program, bare: 'usage' }, [], strict), 2);
    assert.deepEqual(strict.errLines, [helpText(program)]);
  });

  it('writes the help from the registrations: usage continued under the name, summaries from column 44', () => {
    assert.equal(
      helpText(program),
      [
        'Tool 1.0',
        '',
        'Usage: idleforge <command> [options]',
        '',
        'Serve:',
        `  ${'serve --db FILE [--port N]'.padEnd(42)}serves`,
        `  ${'serve credit --amount N'.padEnd(42)}credits`,
        `${' '.repeat(44)}once per id`,
        '',
        'Work:',
        '  work [--json] [--once N]',
        `       ${'[--gpu NAME]...'.padEnd(37)}works`,
        '',
        '  --data DIR   where',
        '',
        'Measure:',
        `  ${'bench a'.padEnd(42)}bench a`,
        `  ${'bench b'.padEnd(42)}bench b`,
        '',
        'The end.',
      ].join('\n'),
    );
  });

  it('gives a command its own usage, with its section’s notes', async () => {
    const io = recorder();
    assert.equal(await runProgram(program, ['bench', 'b'], io), 0);
    assert.deepEqual(io.outLines, [`Usage:\n  ${'idleforge bench b'.padEnd(42)}bench b`]);
    assert.equal(usageText(program, commands[2]!), ['Usage:', '  idleforge work [--json] [--once N]', `${' '.repeat(17)}${'[--gpu NAME]...'.padEnd(27)}works`, '', '  --data DIR   where'].join('\n'));
  });
});
