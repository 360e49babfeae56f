export {
  runBenchmark,
  benchmarkChecks,
  benchmarkWorkUnits,
  verifyBenchmarkScore,
  BENCHMARK_BUDGET_MS,
  SCORE_CEILING,
  type BenchmarkScore,
  type BenchmarkOptions,
} from './benchmark.js';
