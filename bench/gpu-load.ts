/**
 * A second process that uses the GPU, for `idleforge bench handoff --real`: Dawn running a 512³
 * matmul over and over while it is on. It opens its device first and writes the file named by
 * its first argument when ready; SIGUSR1 turns the work on, SIGUSR2 off (the device released, so
 * its busy time stops growing). Started outside the bench's own process tree, so the GPU-process
 * sources see another program, not the worker.
 */
import { writeFileSync } from 'node:fs';
import { benchMatmulTask } from './bench-task.js';
import { createDawnHost } from '../worker/compute/dawn.js';

const task = benchMatmulTask('bench-gpu-load');
const host = await createDawnHost();
await host.run(task);
let on = false;
process.on('SIGUSR1', () => (on = true));
process.on('SIGUSR2', () => {
  on = false;
  void host.release?.();
});
writeFileSync(process.argv[2] ?? '/dev/null', 'ready');
for (;;) {
  if (on) await host.run(task);
  else await new Promise((r) => setTimeout(r, 5));
}
