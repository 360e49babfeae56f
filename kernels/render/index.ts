export { packScene, packCamera, MATERIAL_TYPES, type RenderScene, type RenderMaterial, type RenderTile, type PackedScene, type Vec3 } from './scene.js';
export {
  pcgHash,
  sampleSeed,
  traceSample,
  tracePixel,
  tracePixelVaried,
  renderReferenceVaried,
  tracerFor,
  makeTracer,
  renderReference,
  measureFlopsPerSample,
  renderWorkUnits,
  type Tracer,
} from './reference.js';
export { renderWgsl, RENDER_WORKGROUP, RENDER_PARAMS_BYTES } from './shader.js';
export { runRender, runRenderChunks, timeRender, timeRenderReference, msamplesPerSecond, TIMING_TILE, renderPipeline, nextRenderSlice, INITIAL_SLICE_SAMPLES, MAX_SLICE_SAMPLES } from './dispatch.js';
export {
  checkRenderTile,
  checkRenderChunks,
  chunkSpan,
  openedPixels,
  openedPixelCount,
  chunkedBytes,
  chunkedResult,
  splitChunked,
  CHUNKS_MARK,
  RENDER_CHUNKS,
  verifyRender,
  checkPixelCount,
  allowedMismatches,
  pixelMatches,
  channelTolerance,
  drawPixels,
  CHECK_PIXELS,
  PIXEL_RELATIVE_TOLERANCE,
  PIXEL_ABSOLUTE_TOLERANCE,
  MISMATCH_SHARE,
  TRACE_BUDGET_FACTOR,
  HALF_RELATIVE_ROUNDING,
  HALF_ABSOLUTE_ROUNDING,
  type RenderEncoding,
  type RenderCheck,
  type RenderCheckOptions,
} from './verify.js';
export { boxScene, skyScene, chequerScene, PROJECT_SCENES } from './scenes.js';
export { addPass, meanImage, downscale, toneMap, toneMapValue, meanBrightness, ssim } from './image.js';
