/**
 * `idleforge bench kernels [--json] [options]`: GFLOP/s of the matmul kernels, MH/s of the
 * hashsearch kernel and Msamples/s of the render kernel (with its CPU reference's rate beside it)
 * on this machine's WebGPU (Dawn), beside TensorFlow.js's WebGPU backend on the same device at the
 * same sizes.
 *
 * How it measures (also printed as `method` in the JSON): inputs are uploaded first and not
 * timed; each (impl, size) gets a warm-up run (compiling included), then `--batches` batches of
 * back-to-back products in one submission each, sized to about `--batch-ms`; the figure is the
 * median batch divided by its number of products, wall time from submit to the queue's
 * completion. GFLOP/s counts 2·m·n·k per product. Every timed result is checked against the
 * CPU: Freivalds' check up to 1024 per side, else 256 sampled elements recomputed exactly.
 */
import { parseArgs } from 'node:util';
import { KernelDevice } from '../kernels/device.js';
import { isSoftwareInfo, now, requestComputeDevice } from '../kernels/gpu.js';
import { timeHashsearch, TIMING_HEADER } from '../kernels/hashsearch/index.js';
import { boxScene, measureFlopsPerSample, pixelMatches, timeRender, timeRenderReference, tracePixel, tracerFor } from '../kernels/render/index.js';
import { MATMUL_CONFIGS, matmulConfigFor, timeMatmul, tuneMatmul, verifyMatmul, type MatmulConfigName, type MatmulDims } from '../kernels/matmul/index.js';
import { familyConfigs, sampleMatrix, tuningCandidates } from '../kernels/matmul/tune.js';
import { UsageError, type CommandContext } from '../lib/cli.js';
import { describeMissingWebGpu, openNodeGpu } from '../worker/compute/webgpu-node.js';
import { loadTfjs } from './tfjs.js';

const METHOD =
  'Inputs uploaded before timing; per impl and size one warm-up run (compiling included), then N batches of back-to-back products, one submission each of about batch-ms; ' +
  'reported: median batch time / products per batch, wall time from submit to queue completion (compute only: no upload, no readback). GFLOP/s = 2·m·n·k / time. ' +
  'tuned = the configuration the tuner found fastest on this device for the nearest of the tuning sizes (tuning is not timed), naive = one invocation per element in 8×8 workgroups, ' +
  'tfjs = @tensorflow/tfjs-backend-webgpu tf.matMul on the same GPUDevice. Every timed result is checked against the CPU. ' +
  'hashsearch: SHA-256 of an 80-byte header ‖ u64 nonce over ranges with no match, growing ×8 until one takes a quarter of hash-ms, then one sized to hash-ms; MH/s = nonces / wall time of that run (sliced into ~50 ms submissions as tasks are). ' +
  'render: the box scene of examples/render-job.json, a 64×64 tile of a 256×256 picture, samples per pixel growing until a run takes render-ms (one untimed run first); Msamples/s = pixel-samples / wall time (sliced as tasks are, read back included); ' +
  'the CPU reference (f32, one thread) on 16×16 pixels of it the same way; GFLOP/s-equivalent = Msamples/s × the scene\'s measured FLOP per sample (what render tasks are paid by). 64 pixels of the timed tile are checked against the CPU reference.';

/** GFLOP/s paid for `msps` million samples a second of a scene costing `flopsPerSample`. */
export const renderGflops = (msps: number, flopsPerSample: number): number => (msps * flopsPerSample) / 1000;

export interface BenchResult {
  kernel: 'matmul';
  impl: 'tuned' | 'naive' | 'tfjs' | 'config';
  config?: string;
  m: number;
  n: number;
  k: number;
  gflops: number;
  ms: number;
  repeats: number;
  check: string;
  shareOfPeak?: number;
}

export function parseSize(text: string): MatmulDims {
  const parts = text.toLowerCase().split('x').map(Number);
  const [m, n, k] = parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts;
  if (parts.length !== 1 && parts.length !== 3) throw new UsageError(`bad size ${text}`);
  for (const v of [m, n, k]) if (!Number.isInteger(v) || v! < 1) throw new UsageError(`bad size ${text}`);
  return { m: m!, n: n!, k: k! };
}

/** GFLOP/s of one m×n×k product that took `ms`: it counts 2·m·n·k floating-point operations. */
export function gflops(dims: MatmulDims, ms: number): number {
  return (2 * dims.m * dims.n * dims.k) / ms / 1e6;
}

/** Checks c = a·b: Freivalds' check when small enough, else `samples` elements exactly. */
export function checkProduct(dims: MatmulDims, a: Float32Array, b: Float32Array, c: Float32Array, samples = 256): string {
  if (c.length !== dims.m * dims.n) return `wrong length ${c.length}`;
  if (Math.max(dims.m, dims.n, dims.k) <= 1024) {
    const verdict = verifyMatmul(dims, a, b, c);
    return verdict.ok ? 'ok (Freivalds)' : `WRONG: ${verdict.reason}`;
  }
  let s = 12345;
  for (let t = 0; t < samples; t++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const i = s % dims.m;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % dims.n;
    let exact = 0;
    let scale = 0;
    for (let l = 0; l < dims.k; l++) {
      const p = a[i * dims.k + l]! * b[l * dims.n + j]!;
      exact += p;
      scale += Math.abs(p);
    }
    const got = c[i * dims.n + j]!;
    if (!(Math.abs(got - exact) <= 2 * (dims.k + 1) * 2 ** -24 * scale)) return `WRONG: element (${i}, ${j}) is ${got}, expected ${exact}`;
  }
  return `ok (${samples} elements)`;
}

export async function main(argv: string[], ctx: Pick<CommandContext, 'usage'>): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      json: { type: 'boolean' },
      sizes: { type: 'string' },
      impls: { type: 'string' },
      'tune-sizes': { type: 'string' },
      'no-tune': { type: 'boolean' },
      configs: { type: 'string' },
      batches: { type: 'string' },
      'batch-ms': { type: 'string' },
      'hash-ms': { type: 'string' },
      'render-ms': { type: 'string' },
      'peak-gflops': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${ctx.usage}\n`);
    return 0;
  }
  const json = values.json === true;
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };

  const gpu = await openNodeGpu();
  if (!gpu) {
    process.stderr.write(`${describeMissingWebGpu()}\n`);
    return 1;
  }
  const device = await requestComputeDevice(gpu.adapter, 'idleforge bench');
  const software = gpu.info.software || isSoftwareInfo(gpu.adapter.info);
  const kernelDevice = new KernelDevice(device, software);

  const sizes = (values.sizes ?? (software ? '128,256,512,300x200x250' : '512,1024,2048,4096,3000x2000x2500')).split(',').map(parseSize);
  const impls = (values.impls ?? 'tuned,naive,tfjs').split(',');
  for (const impl of impls) if (!['tuned', 'naive', 'tfjs'].includes(impl)) throw new UsageError(`unknown impl ${impl}`);
  const batches = Number(values.batches ?? 3);
  const batchMs = Number(values['batch-ms'] ?? (software ? 100 : 200));
  const hashMs = Number(values['hash-ms'] ?? 1000);
  const renderMs = Number(values['render-ms'] ?? 1000);
  const peak = values['peak-gflops'] ? Number(values['peak-gflops']) : undefined;
  const extraConfigs: MatmulConfigName[] =
    values.configs === 'all' ? familyConfigs(kernelDevice) : values.configs ? (values.configs.split(',') as MatmulConfigName[]).filter((c) => c in MATMUL_CONFIGS) : [];

  const began = now();
  // Tuning: which configuration is "tuned" on this device.
  let tuning: Awaited<ReturnType<typeof tuneMatmul>> | null = null;
  if (values['no-tune'] !== true && tuningCandidates(kernelDevice).length > 1) {
    const tuneSizes = (values['tune-sizes'] ?? (software ? '128,256' : '512,1024,2048')).split(',').map(Number);
    log(`tuning on ${tuneSizes.map((t) => `${t}³`).join(', ')}: ${tuningCandidates(kernelDevice).join(', ')}`);
    tuning = await tuneMatmul(kernelDevice, { sizes: tuneSizes, batchMs: batchMs / 2 });
    for (const r of tuning.results) log(`  ${r.config} ${r.size}³: ${r.gflops.toFixed(1)} GFLOP/s`);
  }

  const tf = impls.includes('tfjs') ? await loadTfjs(device, gpu.gpu, gpu.adapter.info) : null;
  if (tf && 'error' in tf) log(`tfjs: ${tf.error}`);

  const results: BenchResult[] = [];
  const push = (r: BenchResult): void => {
    if (peak) r.shareOfPeak = r.gflops / peak;
    results.push(r);
    log(`${r.impl}${r.config ? ` ${r.config}` : ''} ${r.m}×${r.n}×${r.k}: ${r.gflops.toFixed(3)} GFLOP/s (${r.ms.toFixed(3)} ms, ${r.repeats}/batch, ${r.check})`);
  };
  for (const dims of sizes) {
    const a = sampleMatrix(dims.m * dims.k, 1);
    const b = sampleMatrix(dims.k * dims.n, 2);
    const ours = async (impl: BenchResult['impl'], config: MatmulConfigName): Promise<void> => {
      const t = await timeMatmul(kernelDevice, dims, a, b, { config, batches, batchMs, read: true });
      push({ kernel: 'matmul', impl, ...(impl !== 'naive' ? { config } : {}), ...dims, gflops: t.gflops, ms: t.ms, repeats: t.repeats, check: checkProduct(dims, a, b, t.c!) });
    };
    const tuned = matmulConfigFor(kernelDevice, dims);
    if (impls.includes('tuned')) await ours('tuned', tuned);
    for (const config of extraConfigs) if (config !== tuned) await ours('config', config);
    if (impls.includes('naive')) await ours('naive', 'naive');
    if (tf && !('error' in tf)) {
      const t = await tf.time(dims, a, b, { batches, batchMs });
      push({ kernel: 'matmul', impl: 'tfjs', ...dims, gflops: gflops(dims, t.ms), ms: t.ms, repeats: t.repeats, check: checkProduct(dims, a, b, t.c) });
    }
  }

  // Hashsearch: growing ranges until one takes about hash-ms (kernels/hashsearch timeHashsearch).
  const hash = await timeHashsearch(kernelDevice, { targetMs: hashMs });
  const hashsearch = { ...hash, headerBytes: TIMING_HEADER.length / 2 };
  log(`hashsearch: ${hashsearch.mhs.toFixed(3)} MH/s (${hash.nonces} nonces in ${hash.ms.toFixed(0)} ms)`);

  // Render: the example scene on the GPU and on the CPU reference (kernels/render timeRender).
  const scene = boxScene();
  const flopsPerSample = measureFlopsPerSample(scene, 256, 256);
  const timed = await timeRender(kernelDevice, scene, { targetMs: renderMs });
  const tracer = tracerFor(scene, timed.tile.width, timed.tile.height);
  let differ = 0;
  for (let i = 0; i < 64; i++) {
    const p = (i * 997) % (timed.tile.w * timed.tile.h);
    const want = tracePixel(tracer, timed.tile.seed, timed.tile.x + (p % timed.tile.w), timed.tile.y + Math.floor(p / timed.tile.w), 0, timed.tile.sampleCount);
    if (!pixelMatches(timed.rgb, want, 3 * p)) differ++;
  }
  const cpu = timeRenderReference(scene, renderMs);
  const renderFigures = {
    scene: 'box (examples/render-job.json)',
    flopsPerSample,
    gpu: { msps: timed.msps, samples: timed.samples, ms: timed.ms, gflops: renderGflops(timed.msps, flopsPerSample) },
    cpu: { msps: cpu.msps, samples: cpu.samples, ms: cpu.ms, gflops: renderGflops(cpu.msps, flopsPerSample) },
    check: differ === 0 ? 'ok (64 pixels)' : `${differ} of 64 pixels differ from the CPU reference`,
  };
  log(`render: ${timed.msps.toFixed(4)} Msamples/s on the GPU (${timed.samples} in ${timed.ms.toFixed(0)} ms), CPU reference ${cpu.msps.toFixed(4)} Msamples/s; ${flopsPerSample} FLOP per sample; ${renderFigures.check}`);

  const doc = {
    adapter: { ...gpu.info, limits: { maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize, maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize } },
    tuned: tuning ? { choices: tuning.choices, tuning: tuning.results } : { config: matmulConfigFor(kernelDevice) },
    ...(tf && !('error' in tf) ? { tfjs: { version: tf.version } } : tf ? { tfjs: { error: tf.error } } : {}),
    method: METHOD,
    ...(peak ? { peakGflops: peak } : {}),
    results,
    hashsearch,
    render: renderFigures,
    seconds: (now() - began) / 1000,
  };
  device.destroy();
  if (json) process.stdout.write(`${JSON.stringify(doc)}\n`);
  else {
    process.stdout.write(`${gpu.info.description || gpu.info.vendor}${software ? ' (software)' : ''}\n`);
    for (const r of results) process.stdout.write(`${`${r.impl}${r.config ? ` ${r.config}` : ''}`.padEnd(20)} ${`${r.m}×${r.n}×${r.k}`.padEnd(16)} ${r.gflops.toFixed(3).padStart(10)} GFLOP/s${r.shareOfPeak ? ` (${(100 * r.shareOfPeak).toFixed(1)}% of peak)` : ''}  ${r.check}\n`);
    process.stdout.write(`hashsearch ${hashsearch.mhs.toFixed(3)} MH/s\n`);
    process.stdout.write(
      `render     ${renderFigures.gpu.msps.toFixed(4)} Msamples/s (${renderFigures.gpu.gflops.toFixed(2)} GFLOP/s-equivalent), CPU reference ${renderFigures.cpu.msps.toFixed(4)} Msamples/s  ${renderFigures.check}\n`,
    );
  }
  const wrong = results.filter((r) => r.check.startsWith('WRONG') || r.check.startsWith('wrong'));
  return wrong.length > 0 || differ > 0 ? 1 : 0;
}
