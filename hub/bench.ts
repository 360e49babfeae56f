/** Benchmark command: not built yet. */
export async function main(_argv: string[]): Promise<number> {
  process.stderr.write('idleforge: this benchmark is not built yet\n');
  return 1;
}
