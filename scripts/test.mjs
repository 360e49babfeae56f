#!/usr/bin/env node
// Runs the whole test suite: lint (the import-boundary rule included), typecheck, the
// dashboard's component tests (vitest, *.test.tsx), then every *.test.ts with Node's test runner.
// `node scripts/test.mjs path/to/x.test.ts path/to/y.test.tsx` runs only those (.tsx with vitest).
// IDLEFORGE_NO_SYSTEM_GPU=1 runs the Dawn and browser tests on the bundled SwiftShader and Chromium
// only (lib/software-gpu.ts), as CI does; the preflight unpacks them once before the tests start.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

function run(label, cmd, cmdArgs, env = process.env) {
  console.log(`\n▶ ${label}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`✖ ${label} failed`);
    process.exit(r.status ?? 1);
  }
}

if (!existsSync(join(root, 'node_modules'))) {
  console.error('Dependencies are missing: run `npm install` first.');
  process.exit(1);
}

const components = args.filter((a) => a.endsWith('.tsx'));
// The longest files start first, so the two test slots finish together (the crash test alone
// takes four to five minutes; started last, it would add them to the end).
const LONGEST_FIRST = ['test/worker-crash.test.ts', 'test/dashboard-e2e.test.ts', 'test/wallet-payout.test.ts', 'test/loop.test.ts'];
const rank = (f) => {
  const i = LONGEST_FIRST.indexOf(f.split('\\').join('/'));
  return i === -1 ? LONGEST_FIRST.length : i;
};
const files = args.length > 0 ? args.filter((a) => !a.endsWith('.tsx')) : findTests(root).sort().sort((x, y) => rank(x) - rank(y));
const vitest = (label, only) => run(label, process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...only]);
const webgpu = () => run('WebGPU check', process.execPath, ['--import', 'tsx', join(root, 'scripts/preflight.ts')]);
if (files.length > 0) webgpu();
if (args.length === 0) {
  run('lint', process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '.']);
  run('typecheck', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']);
  vitest('component tests (vitest)', []);
} else if (components.length > 0) {
  vitest(`component tests (${components.length} files)`, components);
}
if (files.length === 0) process.exit(0);

// One PostgreSQL cluster for the whole run, when a test uses one (hub/postgres/testing.ts) and
// none was given: its URL goes to every test process; closing its stdin stops it.
const PG_ENV = 'IDLEFORGE_TEST_PG_URL';
const usesPostgres = files.some((f) => /\b(freshDatabase|testClusterUrl)\b/.test(readFileSync(join(root, f), 'utf8')));
let pgCluster = null;
const env = { ...process.env };
if (usesPostgres && !env[PG_ENV]) {
  console.log('\n▶ PostgreSQL for the tests');
  pgCluster = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts/pg-test-cluster.ts')], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise((resolve) => {
    createInterface({ input: pgCluster.stdout }).once('line', (line) => resolve(line.startsWith('url ') ? line.slice(4) : null));
    pgCluster.once('exit', () => resolve(null));
  });
  if (url === null) {
    console.error('✖ PostgreSQL for the tests did not start');
    process.exit(1);
  }
  env[PG_ENV] = url;
}
process.on('exit', () => pgCluster?.stdin.end());
run(`tests (${files.length} files)`, process.execPath, [
  '--import', 'tsx',
  '--test',
  '--test-concurrency=2',
  // A stuck file fails, naming itself, instead of holding the run forever. Node 20 applies this
  // to each file as a whole, whatever its tests ask for: the longest file, the 100-kill crash
  // test, takes about four minutes here, so 20 leave room for a much slower machine.
  '--test-timeout=1200000',
  '--test-reporter=spec',
  ...files,
], env);
if (pgCluster) {
  pgCluster.stdin.end();
  await new Promise((resolve) => pgCluster.once('exit', resolve));
}
