/**
 * The compute page (renderer/compute) in headless Chromium on its own WebGPU (SwiftShader on
 * machines without a GPU): the same kernels, bundled with esbuild, checked against the CPU
 * references; a device destroyed in the middle of a task fails that task (DEVICE_LOST) and the
 * next one runs on a new device.
 *
 * Chromium: the system's, or the one npm package @sparticuz/chromium carries (lib/software-gpu.ts;
 * IDLEFORGE_NO_SYSTEM_GPU=1 uses that one only).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashsearchReference, verifyHashsearch } from '../kernels/hashsearch/index.js';
import { matmulReference, verifyMatmul } from '../kernels/matmul/index.js';
import { findChromium } from '../lib/software-gpu.js';
import { bytesToF32, f32ToBase64 } from '../protocol/binary.js';
import { decodeHashsearchOutput } from '../jobs/hashsearch.js';
import { TaskSchema } from '../protocol/http.js';
import { HashsearchOutputSchema } from '../protocol/kinds/hashsearch.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Every hashsearch here uses a 17-byte header: one shader (per device) for all of them. */
const HEADER_17 = '0123456789abcdef0123456789abcdef01';

type Answer = { ok: true; output: Record<string, unknown> } | { ok: false; error: { code: string; message: string } };

function matrix(count: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: count }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

let nextId = 0;
function matmulTask(m: number, k: number, n: number, seed: number) {
  const a = matrix(m * k, seed);
  const b = matrix(k * n, seed + 1);
  const task = {
    id: `b-${++nextId}`,
    kind: 'matmul',
    reward: '1',
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    params: { m, n, k },
    inputs: { a: f32ToBase64(a), b: f32ToBase64(b) },
  };
  TaskSchema.parse(task);
  return { task, a, b, dims: { m, n, k } };
}

function hashsearchTask(header: string, target: string, start: bigint, count: number) {
  const task = {
    id: `b-${++nextId}`,
    kind: 'hashsearch',
    reward: '1',
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    params: { header, target, start: String(start), count },
    inputs: {},
  };
  TaskSchema.parse(task);
  return { task, spec: { header, target, start, count } };
}

function assertMatmul(answer: Answer, job: ReturnType<typeof matmulTask>): void {
  assert.ok(answer.ok, `the page failed: ${JSON.stringify(answer)}`);
  assert.ok(answer.output.c instanceof Uint8Array, 'C comes back as its raw bytes');
  const c = bytesToF32(answer.output.c);
  assert.deepEqual(verifyMatmul(job.dims, job.a, job.b, c), { ok: true });
  const ref = matmulReference(job.dims, job.a, job.b);
  const bound = matmulReference(job.dims, job.a.map(Math.abs), job.b.map(Math.abs));
  for (let i = 0; i < c.length; i++) assert.ok(Math.abs(c[i]! - ref[i]!) <= (job.dims.k + 1) * 2 ** -24 * bound[i]! + 1e-30, `element ${i}`);
}

function assertHashsearch(answer: Answer, job: ReturnType<typeof hashsearchTask>): void {
  assert.ok(answer.ok, `the page failed: ${JSON.stringify(answer)}`);
  const result = decodeHashsearchOutput(HashsearchOutputSchema.parse(answer.output));
  assert.deepEqual(result, hashsearchReference(job.spec));
  assert.deepEqual(verifyHashsearch(job.spec, result), { ok: true });
}

describe('compute page in headless Chromium', () => {
  let dir: string;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let url: string;

  before(async () => {
    const chromiumLaunch = await findChromium();
    dir = mkdtempSync(join(tmpdir(), 'idleforge-browser-'));
    // The page's own script, with test hooks and one block / one workgroup of nonces per submission.
    await build({
      stdin: {
        contents: `import { installComputePage } from './renderer/compute/page.ts';\ninstallComputePage(navigator.gpu, { sliceBudget: 1, hashsearchSliceBudget: 1, testHooks: true });\n`,
        resolveDir: ROOT,
        loader: 'ts',
        sourcefile: 'compute-page-test-entry.ts',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outfile: join(dir, 'compute.js'),
      logLevel: 'error',
    });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>compute</title><script type="module" src="compute.js"></script>\n');
    server = createServer((req, res) => {
      const name = req.url === '/' ? 'index.html' : (req.url ?? '').slice(1);
      if (!['index.html', 'compute.js'].includes(name)) {
        res.writeHead(404).end();
        return;
      }
      readFile(join(dir, name)).then(
        (body) => res.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(body),
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no server address');
    url = `http://127.0.0.1:${address.port}/`;
    browser = await chromium.launch({ executablePath: chromiumLaunch.executablePath, env: chromiumLaunch.env, args: FLAGS });
    page = await browser.newPage();
    page.on('pageerror', (error) => console.error(`page error: ${error.message}`));
    await page.goto(url);
    await page.waitForFunction(() => 'idleforgeCompute' in globalThis);
    const adapter = await page.evaluate(() => (globalThis as unknown as { idleforgeCompute: { ready: Promise<unknown> } }).idleforgeCompute.ready);
    console.error(`page adapter: ${JSON.stringify(adapter)}`);
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (task: unknown): Promise<Answer> =>
    page.evaluate((t) => (globalThis as unknown as { idleforgeCompute: { run(t: unknown): Promise<Answer> } }).idleforgeCompute.run(t), task);

  test('matmul tasks match the CPU reference: 1×1×1, long-thin, not multiples of any block', async () => {
    for (const [m, k, n, seed] of [
      [1, 1, 1, 1],
      [1, 300, 67, 2],
      [70, 3, 1, 3],
      [67, 29, 45, 4],
      [130, 36, 68, 5],
    ] as const) {
      const job = matmulTask(m, k, n, seed);
      assertMatmul(await run(job.task), job);
    }
  });

  test('hashsearch tasks match the CPU reference, and a range with a known answer', async () => {
    const job = hashsearchTask(HEADER_17, `02${'f'.repeat(62)}`, 2n ** 32n - 1000n, 2500);
    assertHashsearch(await run(job.task), job);
    const known = hashsearchTask(Buffer.from('Idleforge block 1', 'utf8').toString('hex'), `0001${'f'.repeat(60)}`, 123456789000n, 150000);
    const answer = await run(known.task);
    assert.ok(answer.ok, JSON.stringify(answer));
    assert.deepEqual((answer.output as { nonces: string[] }).nonces, ['123456791149', '123456864209', '123456901478', '123456933699']);
  });

  test('onComputed is called once, before the answer; a task started from it runs while the first is encoded', async () => {
    const first = matmulTask(67, 29, 45, 6);
    const second = matmulTask(30, 20, 10, 7);
    const seen = await page.evaluate(
      async ([a, b]) => {
        const api = (globalThis as unknown as { idleforgeCompute: { run(t: unknown, onComputed?: () => void): Promise<Answer> } }).idleforgeCompute;
        const events: string[] = [];
        let next: Promise<Answer> | null = null;
        const one = api.run(a, () => {
          events.push('computed 1');
          next = api.run(b, () => events.push('computed 2'));
        }).then((answer) => {
          events.push('answer 1');
          return answer;
        });
        const answer1 = await one;
        const answer2 = next ? await next : null;
        return { events, answer1, answer2 };
      },
      [first.task, second.task] as const,
    );
    assert.deepEqual(seen.events.slice(0, 1), ['computed 1']);
    assert.equal(seen.events.filter((e) => e === 'computed 1').length, 1);
    assert.ok(seen.events.indexOf('computed 1') < seen.events.indexOf('answer 1'), seen.events.join(', '));
    assertMatmul(seen.answer1, first);
    assert.ok(seen.answer2, 'the second task started from onComputed');
    assertMatmul(seen.answer2, second);
  });

  test('a task that does not parse is refused with VALIDATION', async () => {
    const answer = await run({ id: 'x', kind: 'matmul', params: { m: 0 } });
    assert.equal(answer.ok, false);
    assert.equal(!answer.ok && answer.error.code, 'VALIDATION');
  });

  test('a device destroyed in the middle of a task: DEVICE_LOST, then the next tasks run on a new device', async () => {
    for (const kind of ['matmul', 'hashsearch'] as const) {
      const job = kind === 'matmul' ? matmulTask(260, 40, 200, 9) : hashsearchTask(HEADER_17, `02${'f'.repeat(62)}`, 0n, 20000);
      const answer = await page.evaluate(async (task) => {
        type Api = { run(t: unknown): Promise<Answer>; device(): GPUDevice | null; onSlice: ((n: number) => void) | null };
        const api = (globalThis as unknown as { idleforgeCompute: Api }).idleforgeCompute;
        const before = api.device();
        // Destroyed once the task is under way: after its second slice.
        api.onSlice = (n) => {
          if (n === 2) before?.destroy();
        };
        const result = await api.run(task);
        api.onSlice = null;
        return { result, replaced: api.device() !== before };
      }, job.task);
      assert.equal(answer.result.ok, false, `${kind}: the interrupted task must fail, not return output`);
      assert.equal(!answer.result.ok && answer.result.error.code, 'DEVICE_LOST', `${kind}: ${JSON.stringify(answer.result)}`);
      const next = matmulTask(33, 17, 9, 10);
      assertMatmul(await run(next.task), next);
      const hs = hashsearchTask(HEADER_17, `08${'f'.repeat(62)}`, 77n, 1500);
      assertHashsearch(await run(hs.task), hs);
      const replaced = await page.evaluate(() => (globalThis as unknown as { idleforgeCompute: { device(): GPUDevice | null } }).idleforgeCompute.device() !== null);
      assert.ok(replaced, 'a new device serves the next tasks');
    }
  });

  test('stop() ends the task in progress with ABORTED; the device stays', async () => {
    const job = matmulTask(200, 30, 130, 12);
    const answer = await page.evaluate(async (task) => {
      type Api = { run(t: unknown): Promise<Answer>; stop(): void; device(): GPUDevice | null; onSlice: ((n: number) => void) | null };
      const api = (globalThis as unknown as { idleforgeCompute: Api }).idleforgeCompute;
      const before = api.device();
      api.onSlice = (n) => {
        if (n === 2) api.stop();
      };
      const result = await api.run(task);
      api.onSlice = null;
      return { result, same: api.device() === before };
    }, job.task);
    assert.equal(!answer.result.ok && answer.result.error.code, 'ABORTED', JSON.stringify(answer.result));
    assert.ok(answer.same);
    assertMatmul(await run(job.task), job);
  });
});
