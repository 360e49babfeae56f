/**
 * The benchmarks, as `idleforge bench <name>` lists and runs them (lib/cli.ts). A bench is
 * bench/<name>.ts exporting `main(argv)` (its exit code), plus one entry here; this module stays
 * light: a bench's code is loaded only when it runs. docs/DESIGN.md says where the parts go.
 */
import type { Command } from '../lib/cli.js';

export const BENCH_COMMANDS: readonly Command[] = [
  {
    name: 'bench kernels',
    usage: '[--json] [--sizes LIST] [--impls LIST] [--tune-sizes LIST] [--no-tune]\n[--configs all|LIST] [--batches N] [--batch-ms N] [--hash-ms N] [--render-ms N] [--peak-gflops N]',
    summary: "GFLOP/s, MH/s and render Msamples/s of the kernels on this machine's WebGPU",
    details: `  --sizes       N (N×N×N) or MxNxK, comma-separated; default 128,256,512,300x200x250 on a CPU
                implementation, 512,1024,2048,4096,3000x2000x2500 on a GPU
  --impls       tuned,naive,tfjs (default all three)
  --tune-sizes  square sizes the configurations are tuned on, each size's winner runs the products
                nearest it (default 512,1024,2048 on a GPU; 128,256 on a CPU implementation)
  --configs     also time these configurations at every size (all: every one that fits)
  --render-ms   how long the timed render run (GPU) and CPU reference run take, about (default 1000)
  --peak-gflops the device's f32 peak: adds each result's share of it`,
    run: async (argv, ctx) => (await import('./kernels.js')).main(argv, ctx),
  },
  {
    name: 'bench hub',
    usage: '[--json] [--workers N] [--seconds S] [--warmup S] [--tasks T]\n[--processes 1,2,4] [--db URL] [--load-processes N]',
    summary: "hub cycles/s on loopback with 1, 2 and 4 hub processes on one\nPostgreSQL; protocol overhead at the feeder's sizes",
    run: async (argv) => (await import('./hub.js')).main(argv),
  },
  {
    name: 'bench pause',
    usage: '[--json] [--trials N]',
    summary: 'how fast GPU work stops when a condition says stop',
    run: async (argv) => (await import('./pause.js')).main(argv),
  },
  {
    name: 'bench handoff',
    usage: '[--json] [--trials N] [--proc-root DIR] [--desktop-procs N] [--real]',
    summary: "how fast the GPU's memory is given back to a game or fullscreen app",
    run: async (argv) => (await import('./handoff.js')).main(argv),
  },
  {
    name: 'bench store',
    usage: '[--seconds S] [--tasks N]',
    summary: "the hub's store: a local PostgreSQL's start, a test database from the template, leases/s on PostgreSQL and SQLite",
    run: async (argv) => (await import('./store.js')).main(argv),
  },
  {
    name: 'bench tray',
    usage: '[--json] [--warmup S] [--window S]',
    summary: 'memory and CPU of the desktop app idle in the tray (needs Electron)',
    run: async (argv) => (await import('./tray.js')).main(argv),
  },
  {
    name: 'bench ui',
    usage: '[--json] [--loads N] [--entries N] [--trace]',
    summary: "the dashboard's bundle size, its first render in headless Chromium, and Earnings and the mirror's reconcile over a seeded year (3M entries)",
    run: async (argv) => (await import('./ui.js')).main(argv),
  },
];
