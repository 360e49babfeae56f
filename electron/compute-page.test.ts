/**
 * The desktop app's compute page as bundled (renderer/compute + its bridge, under its CSP) in
 * headless Chromium on WebGPU (SwiftShader here), driven the way the compute preload drives it:
 * `ready` with the adapter, a task in, the GPU done with it, its answer out. Only the preload's ten lines of Electron
 * IPC are replaced by a stand-in object. (With the Electron binary, test/electron-e2e.test.ts runs
 * a task through the real hidden window.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { bundleDesktop } from '../build/desktop-bundle.js';
import { matmulReference } from '../kernels/matmul/index.js';
import { findChromium } from '../lib/software-gpu.js';
import { bytesToF32, f32ToBase64 } from '../protocol/binary.js';
import { COMPUTE_BRIDGE_GLOBAL } from './channels.js';
import { RunAnswerSchema } from '../protocol/desktop.js';

const FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const dir = mkdtempSync(join(tmpdir(), 'idleforge-compute-page-'));
let server: Server;
let browser: Browser;
let page: Page;

/**
 * The stand-in for the compute preload: what it exposes, recording what the page sends. (A
 * string: a function would be compiled with helpers the page does not have.)
 */
const FAKE_BRIDGE = `
  const state = { ready: null, answers: new Map(), computed: [], run: null, stop: null };
  globalThis.__bridge = state;
  globalThis[${JSON.stringify(COMPUTE_BRIDGE_GLOBAL)}] = {
    ready: (info) => { state.ready = info; },
    answer: (id, answer) => { state.answers.set(id, answer); },
    computed: (id) => { state.computed.push({ id, answered: state.answers.has(id) }); },
    onRun: (l) => { state.run = l; },
    onBenchmark: () => {},
    onStop: (l) => { state.stop = l; },
  };
`;

before(async () => {
  const chromiumLaunch = await findChromium();
  await bundleDesktop({ outdir: dir, dashboard: false });
  const pages = join(dir, 'pages', 'compute');
  server = createServer((req, res) => {
    const name = req.url === '/' ? 'index.html' : (req.url ?? '').slice(1);
    if (!['index.html', 'compute.js'].includes(name)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(readFileSync(join(pages, name)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no server address');
  browser = await chromium.launch({ executablePath: chromiumLaunch.executablePath, env: chromiumLaunch.env, args: FLAGS });
  page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.addInitScript({ content: FAKE_BRIDGE });
  await page.goto(`http://127.0.0.1:${address.port}/`);
  await page.waitForFunction(() => (globalThis as unknown as { __bridge: { ready: unknown } }).__bridge.ready !== null, null, { timeout: 60_000 });
  assert.deepEqual(errors, [], 'the page loads under its CSP without errors');
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function send(id: number, task: unknown): Promise<unknown> {
  return page.evaluate(
    async ([id, task]) => {
      const b = (globalThis as unknown as { __bridge: { run(m: unknown): void; answers: Map<unknown, unknown> } }).__bridge;
      b.run({ id, task });
      const end = Date.now() + 60_000;
      for (;;) {
        if (b.answers.has(id)) return b.answers.get(id);
        if (Date.now() > end) throw new Error(`no answer to run ${String(id)} in 60 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    [id, task] as const,
  );
}

test('the page says ready with its WebGPU adapter', async () => {
  const ready = await page.evaluate(() => (globalThis as unknown as { __bridge: { ready: unknown } }).__bridge.ready);
  assert.equal((ready as { ok: boolean }).ok, true, JSON.stringify(ready));
});

test('a task in, the right answer out, in the shape main accepts', async () => {
  const a = Float32Array.from({ length: 6 * 5 }, (_, i) => (i % 7) - 3);
  const b = Float32Array.from({ length: 5 * 4 }, (_, i) => (i % 5) * 0.5);
  const task = { id: 'desk-1', kind: 'matmul', reward: '1', leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(), params: { m: 6, n: 4, k: 5 }, inputs: { a: f32ToBase64(a), b: f32ToBase64(b) } };
  const answer = RunAnswerSchema.parse(await send(1, task));
  assert.ok(answer.ok, JSON.stringify(answer));
  assert.ok(answer.output.c instanceof Uint8Array, 'C comes back as its raw bytes');
  assert.deepEqual([...bytesToF32(answer.output.c)], [...matmulReference({ m: 6, n: 4, k: 5 }, a, b)]);
  // Main heard that the GPU was done with it once, before its answer.
  assert.deepEqual(await computedWords(1), [{ id: 1, answered: false }]);
});

const computedWords = (id: number): Promise<unknown[]> =>
  page.evaluate((id) => (globalThis as unknown as { __bridge: { computed: { id: unknown }[] } }).__bridge.computed.filter((c) => c.id === id), id);

test('something that is not a task is answered VALIDATION', async () => {
  const answer = RunAnswerSchema.parse(await send(2, { id: 'x', kind: 'matmul' }));
  assert.equal(!answer.ok && answer.error.code, 'VALIDATION');
  assert.deepEqual(await computedWords(2), [], 'never on the GPU');
});
