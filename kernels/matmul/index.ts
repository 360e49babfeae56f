export { MATMUL_CONFIGS, matmulWgsl, blockShape, workgroupBytes, vec4Fits, DIMS_BYTES, type MatmulConfig, type MatmulConfigName } from './shader.js';
export {
  runMatmul,
  prepareMatmul,
  matmulPipeline,
  timeMatmul,
  nextRect,
  configFits,
  setMatmulConfig,
  setMatmulChoices,
  MIN_LARGE_BLOCKS,
  matmulConfigFor,
  INITIAL_SLICE_MACS,
  type MatmulRunOptions,
  type PreparedMatmul,
  type MatmulTiming,
  type BlockRect,
  type SizeChoice,
} from './dispatch.js';
export { tuneMatmul, tuningCandidates, familyConfigs, sampleMatrix, type TuneResult } from './tune.js';
export { matmulReference, matmulWorkUnits, checkSizes, type MatmulDims } from './reference.js';
export { verifyMatmul, productRangeProblem, FREIVALDS_ROUNDS, TOLERANCE_FACTOR, NOISE_SIGMAS } from './verify.js';
