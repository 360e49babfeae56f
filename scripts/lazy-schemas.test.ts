import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import * as direct from '../protocol/engine-api.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { lazySchemas, lazySchemasPlugin } = (await import(pathToFileURL(join(ROOT, 'scripts', 'lazy-schemas.mjs')).href)) as {
  lazySchemas(source: string, fileName: string, lazyModule?: string): { code: string; wrapped: number };
  lazySchemasPlugin: Plugin;
};

test('lazySchemas wraps what builds a schema, looks into tables of them, and leaves the rest', () => {
  const source = [
    "import { z } from 'zod';",
    'export const A = 1;',
    "export const LIST = ['a', 'b'] as const;",
    'export const NameSchema = z.string().min(1);',
    'export const RowSchema = BaseSchema.extend({ name: NameSchema });',
    'export const Alias = NameSchema;',
    'export const KINDS = LIST.map((k) => k.toUpperCase());',
    'const Empty = z.object({}).strict();',
    'export const TABLE = { one: { params: Empty, result: z.object({ x: z.number() }) }, two: { params: RowSchema.strict(), label: "two" } } as const;',
    'export const parse = (v: unknown) => NameSchema.parse(v);',
    'export function later() { return z.string(); }',
  ].join('\n');
  const { code, wrapped } = lazySchemas(source, 'x.ts', '/lazy.ts');
  assert.equal(wrapped, 5);
  assert.match(code, /^import \{ lazy as __idleforgeLazy \} from "\/lazy\.ts";/);
  assert.match(code, /NameSchema = __idleforgeLazy\(\(\) => \(z\.string\(\)\.min\(1\)\), "NameSchema"\)/);
  assert.match(code, /RowSchema = __idleforgeLazy\(\(\) => \(BaseSchema\.extend/);
  assert.match(code, /Empty = __idleforgeLazy\(/);
  assert.match(code, /result: __idleforgeLazy\(\(\) => \(z\.object\(\{ x: z\.number\(\) \}\)\), "TABLE\.one\.result"\)/);
  assert.match(code, /params: __idleforgeLazy\(\(\) => \(RowSchema\.strict\(\)\), "TABLE\.two\.params"\)/);
  for (const kept of ['export const A = 1;', "export const LIST = ['a', 'b'] as const;", 'export const Alias = NameSchema;', 'LIST.map((k) => k.toUpperCase())', 'params: Empty,', 'label: "two"', '(v: unknown) => NameSchema.parse(v)', 'return z.string();']) {
    assert.ok(code.includes(kept), kept);
  }
  assert.deepEqual(lazySchemas('export const A = 1;', 'y.ts'), { code: 'export const A = 1;', wrapped: 0 });
});

test("the engine API built as the dashboard builds it: nothing built at load, each method's schemas on first use, the same verdicts", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-lazy-schemas-'));
  try {
    const outfile = join(dir, 'engine-api.mjs');
    await build({
      absWorkingDir: ROOT,
      stdin: { contents: "export * from './protocol/engine-api.ts'; export { lazyCounts } from './protocol/lazy.ts';", resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile,
      plugins: [lazySchemasPlugin],
      logLevel: 'silent',
    });
    const lazyApi = (await import(pathToFileURL(outfile).href)) as typeof direct & { lazyCounts(): { made: number; built: number } };
    const atLoad = lazyApi.lazyCounts();
    assert.ok(atLoad.made > 100, `only ${atLoad.made} schemas were made lazy`);
    // Only what a module reads at load (the ledger's statuses, for HISTORY_STATUSES) is built.
    assert.ok(atLoad.built <= 3, `${atLoad.built} schemas were built at load`);
    assert.deepEqual(lazyApi.ENGINE_METHODS, direct.ENGINE_METHODS);

    const status: direct.EngineStatusView = {
      state: 'waiting',
      reason: 'Waiting',
      blockedBy: 'user-active',
      task: null,
      credited: 3,
      address: `0x${'ab'.repeat(20)}`,
      hubUrl: 'http://127.0.0.1:8787',
      temperatureC: 61,
      temperatureLimitC: 83,
      earnedToday: '12000',
      earnedThisWeek: '340000',
      token: { symbol: 'IDLE', decimals: 18 },
    };
    const answers: unknown[] = [
      status,
      { ...status, earnedToday: '1.5' },
      { ...status, state: 'dancing' },
      { ...status, address: '0x12' },
      { ...status, task: { id: 't', kind: 'matmul', startedAt: 'noon' } },
      {},
      null,
    ];
    const verdicts = (api: typeof direct): boolean[] => answers.map((a) => api.ENGINE_API.getStatus.result.safeParse(a).success);
    assert.deepEqual(verdicts(lazyApi), [true, false, false, false, false, false, false]);
    assert.deepEqual(verdicts(lazyApi), verdicts(direct));
    const afterStatus = lazyApi.lazyCounts().built;
    assert.ok(afterStatus < atLoad.made / 4, `the status alone built ${afterStatus} of ${atLoad.made}`);

    // Every method's parameters and result give the verdicts the schemas as written give.
    const samples: unknown[] = [{}, null, { limit: 10 }, { limit: 0 }, { bucket: 'day' }, { bucket: 'year' }, { for: '1h' }, { confirm: true }, { refresh: 'yes' }, status];
    for (const method of direct.ENGINE_METHODS) {
      for (const part of ['params', 'result'] as const) {
        const got = samples.map((s) => lazyApi.ENGINE_API[method][part].safeParse(s).success);
        const want = samples.map((s) => direct.ENGINE_API[method][part].safeParse(s).success);
        assert.deepEqual(got, want, `${method} ${part}`);
      }
    }
    const event = { type: 'status', status };
    assert.equal(lazyApi.EngineEventSchema.safeParse(event).success, true);
    assert.equal(lazyApi.EngineEventSchema.safeParse({ type: 'status', status: {} }).success, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the dashboard's bundle is React's production build, with the schemas made lazy", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-dashboard-build-'));
  try {
    const { buildDashboard } = (await import(pathToFileURL(join(ROOT, 'scripts', 'build-dashboard.mjs')).href)) as {
      buildDashboard(o: { outdir: string; minify: boolean }): Promise<{ preload: string[] }>;
    };
    const r = await buildDashboard({ outdir: join(dir, 'out'), minify: true });
    const start = readFileSync(join(dir, 'out', r.preload[0]!), 'utf8');
    // Production React words its errors as codes; its development build carries the warnings.
    assert.match(start, /Minified React error #/);
    assert.doesNotMatch(start, /Each child in a list should have a unique/);
    assert.doesNotMatch(start, /process\.env\.NODE_ENV/);
    assert.match(start, /must build a plain object/);
    assert.ok(readdirSync(join(dir, 'out', 'assets')).some((f) => f.endsWith('.css')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
