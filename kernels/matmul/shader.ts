/**
 * The matmul shaders, C = A·B in f32 (A m×k, B k×n, C m×n, all row-major), generated from one
 * configuration so that every size (workgroup, block, per-invocation tile) is defined once here
 * and read by both the WGSL text and the dispatch in dispatch.ts.
 *
 * Three families:
 * - `naive`: the textbook kernel, one invocation per element of C, 8×8 workgroups, no tiling.
 *   Kept as the baseline the benchmark compares against.
 * - `shared` (for GPUs): a block of C per workgroup; A and B go through workgroup memory in
 *   K-steps of `bk`, double-buffered (one barrier per step); each invocation keeps a `tm`×`tn`
 *   tile of C in registers and reads 4-wide vectors from workgroup memory. A comes in transposed
 *   (k-major) so both operands are read as vec4.
 * - `register` (for CPU implementations such as SwiftShader, where workgroup memory is ordinary
 *   memory and every vector lane is a separate load): no workgroup memory; each invocation
 *   keeps a tile of C in registers and reads A and B straight from storage; a barrier after
 *   each `kc`-long chunk of K keeps the workgroup's invocations in step so that the chunk of A
 *   and B they share stays in the CPU's cache. With `subgroupRows`, the 4 invocations of a
 *   subgroup (which share their rows) each load a quarter of the rows of A and broadcast them.
 *
 * Every shape is valid, multiples of the block or not: out-of-range rows and columns are clamped
 * to the last one on load (computed, never stored) and K beyond k reads as zero. Where k and n are
 * multiples of 4 the `vec4` flavour of a configuration loads and stores 4-wide; otherwise the
 * scalar flavour runs. The inner loops are unrolled here, in TypeScript, so that every register
 * index is a constant in the WGSL.
 */

/** Uniform block every matmul shader reads: sizes, then the origin of the slice being computed. */
export const DIMS_WGSL = /* wgsl */ `struct Dims { m: u32, n: u32, k: u32, rowOffset: u32, colOffset: u32, pad0: u32, pad1: u32, pad2: u32 }`;
/** Bytes of that uniform block. */
export const DIMS_BYTES = 32;

export type MatmulConfig =
  | { family: 'naive'; wgX: number; wgY: number }
  | {
      family: 'shared';
      /** Invocations per workgroup along columns (x) and rows (y). */
      wgX: number;
      wgY: number;
      /** Elements of C per invocation: rows, and columns (a multiple of 4). Rows are a multiple of 4. */
      tm: number;
      tn: number;
      /** K step through workgroup memory. */
      bk: number;
      /** K values unrolled in the WGSL per inner-loop iteration (a divisor of bk); default bk. */
      unroll?: number;
    }
  | {
      family: 'register';
      wgX: number;
      wgY: number;
      tm: number;
      tn: number;
      /** K values between two barriers. */
      kc: number;
      /**
       * Subgroups of exactly 4 invocations (SwiftShader's) that share their rows: each one loads
       * tm/4 of the rows' values of A and the subgroup broadcasts them, a quarter of the loads.
       * Needs the `subgroups` feature, a subgroup size of 4 and wgX a multiple of 4.
       */
      subgroupRows?: boolean;
    };

/** The named configurations; `selectConfig` (dispatch.ts) and the tuner choose among them. */
export const MATMUL_CONFIGS = {
  naive: { family: 'naive', wgX: 8, wgY: 8 },
  /** CPU implementations: 32×64 blocks (fastest of the shapes tried on SwiftShader). */
  cpu: { family: 'register', wgX: 8, wgY: 4, tm: 8, tn: 8, kc: 128 },
  /** CPU implementations with 4-wide subgroups: 64×64 blocks, rows of A shared (≈1.5× `cpu` on SwiftShader). */
  'cpu-sg': { family: 'register', wgX: 8, wgY: 4, tm: 16, tn: 8, kc: 128, subgroupRows: true },
  /** GPUs: 128×128 blocks, 8×8 per invocation, 256 invocations. */
  'gpu-128': { family: 'shared', wgX: 16, wgY: 16, tm: 8, tn: 8, bk: 8 },
  /** GPUs: the same with 16-long K steps (32 KiB of workgroup memory, half the barriers). */
  'gpu-128-k16': { family: 'shared', wgX: 16, wgY: 16, tm: 8, tn: 8, bk: 16, unroll: 8 },
  /** GPUs: 128×64 blocks, 8×4 per invocation (more workgroups on mid-size products). */
  'gpu-128x64': { family: 'shared', wgX: 16, wgY: 16, tm: 8, tn: 4, bk: 16, unroll: 8 },
  /** GPUs: 64×128 blocks, 8×8 per invocation, 128 invocations (more workgroups per SM). */
  'gpu-64x128': { family: 'shared', wgX: 16, wgY: 8, tm: 8, tn: 8, bk: 8 },
  /** GPUs: 64×64 blocks, 4×4 per invocation (small GPUs, small products). */
  'gpu-64': { family: 'shared', wgX: 16, wgY: 16, tm: 4, tn: 4, bk: 16 },
} as const satisfies Record<string, MatmulConfig>;

export type MatmulConfigName = keyof typeof MATMUL_CONFIGS;

/** Rows and columns of C that one workgroup computes. */
export function blockShape(config: MatmulConfig): { rows: number; cols: number } {
  if (config.family === 'naive') return { rows: config.wgY, cols: config.wgX };
  return { rows: config.wgY * config.tm, cols: config.wgX * config.tn };
}

/** Bytes of workgroup memory a configuration needs. */
export function workgroupBytes(config: MatmulConfig): number {
  if (config.family !== 'shared') return 0;
  const { rows, cols } = blockShape(config);
  return 2 * config.bk * (rows + cols) * 4;
}

/** The subgroup size the `subgroupRows` kernels are written for. */
export const SUBGROUP_ROWS_SIZE = 4;

/** The `vec4` flavour needs k and n to be multiples of 4 (rows of A and B start 16-byte aligned). */
export const vec4Fits = ({ n, k }: { n: number; k: number }): boolean => n % 4 === 0 && k % 4 === 0;

/** WGSL for a configuration; `vec4` picks 4-wide loads and stores (see vec4Fits). */
export function matmulWgsl(config: MatmulConfig, vec4: boolean): string {
  switch (config.family) {
    case 'naive':
      return naiveWgsl(config.wgX, config.wgY);
    case 'shared':
      checkShared(config);
      return sharedWgsl(config, vec4);
    case 'register':
      if (config.tn % 4 !== 0) throw new RangeError('register: tn must be a multiple of 4');
      if (config.subgroupRows && (config.tm % SUBGROUP_ROWS_SIZE !== 0 || config.wgX % SUBGROUP_ROWS_SIZE !== 0)) {
        throw new RangeError('register: subgroupRows needs tm and wgX multiples of the subgroup size');
      }
      return registerWgsl(config, vec4);
  }
}

function bindings(elem: { a: string; b: string; c: string }): string {
  return `${DIMS_WGSL}
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<${elem.a}>;
@group(0) @binding(2) var<storage, read> b: array<${elem.b}>;
@group(0) @binding(3) var<storage, read_write> c: array<${elem.c}>;
`;
}

function naiveWgsl(wgX: number, wgY: number): string {
  return `${bindings({ a: 'f32', b: 'f32', c: 'f32' })}
@compute @workgroup_size(${wgX}, ${wgY})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = dims.rowOffset + gid.y;
  let col = dims.colOffset + gid.x;
  if (row >= dims.m || col >= dims.n) { return; }
  var acc = 0.0;
  for (var l = 0u; l < dims.k; l++) {
    acc = acc + a[row * dims.k + l] * b[l * dims.n + col];
  }
  c[row * dims.n + col] = acc;
}
`;
}

function checkShared(cfg: Extract<MatmulConfig, { family: 'shared' }>): void {
  const { wgX, wgY, tm, tn, bk } = cfg;
  const threads = wgX * wgY;
  const { rows, cols } = blockShape(cfg);
  if (tm % 4 !== 0 || tn % 4 !== 0) throw new RangeError('shared: tm and tn must be multiples of 4');
  if (bk % 4 !== 0) throw new RangeError('shared: bk must be a multiple of 4');
  if (bk % (cfg.unroll ?? bk) !== 0) throw new RangeError('shared: unroll must divide bk');
  if ((rows * bk) % (4 * threads) !== 0 || (cols * bk) % (4 * threads) !== 0) {
    throw new RangeError('shared: each invocation must load whole vec4s of the A and B tiles');
  }
}

/**
 * The GPU kernel. Invocation (tx, ty) owns rows 4·(ty + g·wgY) + r and columns 4·(tx + h·wgX) + q
 * of the block (g < tm/4, h < tn/4, r, q < 4): neighbouring invocations read neighbouring vec4s
 * of workgroup memory, without bank conflicts.
 */
function sharedWgsl(cfg: Extract<MatmulConfig, { family: 'shared' }>, vec4: boolean): string {
  const { wgX, wgY, tm, tn, bk } = cfg;
  const threads = wgX * wgY;
  const { rows: BM, cols: BN } = blockShape(cfg);
  const BM4 = BM / 4;
  const BN4 = BN / 4;
  const G = tm / 4;
  const H = tn / 4;
  // Tile loads, counted in vec4 slots: A is BM×bk, B is bk×BN.
  const aSlots = (BM * bk) / 4 / threads;
  const bSlots = (bk * BN) / 4 / threads;
  const L: string[] = [];
  L.push(bindings(vec4 ? { a: 'vec4f', b: 'vec4f', c: 'vec4f' } : { a: 'f32', b: 'f32', c: 'f32' }));
  L.push(`// Two buffers of the A tile (k-major: [bk][BM/4] vec4) and of the B tile ([bk][BN/4] vec4).
var<workgroup> tileA: array<vec4f, ${2 * bk * BM4}>;
var<workgroup> tileB: array<vec4f, ${2 * bk * BN4}>;

@compute @workgroup_size(${wgX}, ${wgY})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let M = dims.m;
  let N = dims.n;
  let K = dims.k;
  let blockRow = dims.rowOffset + wid.y * ${BM}u;
  let blockCol = dims.colOffset + wid.x * ${BN}u;
  let tx = lid.x;
  let ty = lid.y;`);
  // Which element(s) of the tiles this invocation loads. A slot is 4 consecutive k of one row
  // of A, or 4 consecutive columns of one row of B.
  for (let s = 0; s < aSlots; s++) {
    L.push(`  let aSlot${s} = tid + ${s * threads}u;`);
    L.push(`  let aRow${s} = min(blockRow + aSlot${s} / ${bk / 4}u, M - 1u);`);
    L.push(`  let aK${s} = (aSlot${s} % ${bk / 4}u) * 4u;`);
    L.push(`  let aDst${s} = aK${s} * ${BM4}u + (aSlot${s} / ${bk / 4}u) / 4u;`);
    L.push(`  let aLane${s} = (aSlot${s} / ${bk / 4}u) % 4u;`);
  }
  for (let s = 0; s < bSlots; s++) {
    L.push(`  let bSlot${s} = tid + ${s * threads}u;`);
    L.push(`  let bK${s} = bSlot${s} / ${BN4}u;`);
    L.push(`  let bCol${s} = blockCol + (bSlot${s} % ${BN4}u) * 4u;`);
  }
  if (vec4) {
    L.push(`  let K4 = K / 4u;`);
    L.push(`  let N4 = N / 4u;`);
  }
  for (let s = 0; s < aSlots; s++) L.push(`  var ra${s}: vec4f;`);
  for (let s = 0; s < bSlots; s++) L.push(`  var rb${s}: vec4f;`);

  // Global → registers for the tile starting at k0, zero beyond K.
  const loadRegs: string[] = [];
  for (let s = 0; s < aSlots; s++) {
    if (vec4) {
      loadRegs.push(`    ra${s} = select(vec4f(), a[aRow${s} * K4 + min((k0 + aK${s}) / 4u, K4 - 1u)], k0 + aK${s} < K);`);
    } else {
      const parts = [0, 1, 2, 3].map((q) => `select(0.0, a[aRow${s} * K + min(k0 + aK${s} + ${q}u, K - 1u)], k0 + aK${s} + ${q}u < K)`);
      loadRegs.push(`    ra${s} = vec4f(${parts.join(', ')});`);
    }
  }
  for (let s = 0; s < bSlots; s++) {
    loadRegs.push(`    let bRow${s} = k0 + bK${s};`);
    if (vec4) {
      loadRegs.push(`    rb${s} = select(vec4f(), b[min(bRow${s}, K - 1u) * N4 + min(bCol${s} / 4u, N4 - 1u)], bRow${s} < K);`);
    } else {
      const parts = [0, 1, 2, 3].map((q) => `b[min(bRow${s}, K - 1u) * N + min(bCol${s} + ${q}u, N - 1u)]`);
      loadRegs.push(`    rb${s} = select(vec4f(), vec4f(${parts.join(', ')}), bRow${s} < K);`);
    }
  }
  // Registers → workgroup buffer `buf` (A transposed into k-major order).
  const storeRegs = (buf: string): string[] => {
    const out: string[] = [];
    for (let s = 0; s < aSlots; s++) {
      for (let q = 0; q < 4; q++) out.push(`    tileA[(${buf}) * ${bk * BM4}u + aDst${s} + ${q * BM4}u][aLane${s}] = ra${s}[${q}];`);
    }
    for (let s = 0; s < bSlots; s++) out.push(`    tileB[(${buf}) * ${bk * BN4}u + bSlot${s}] = rb${s};`);
    return out;
  };

  for (let g = 0; g < G; g++) for (let r = 0; r < 4; r++) for (let h = 0; h < H; h++) L.push(`  var acc${g * 4 + r}_${h} = vec4f();`);
  L.push(`  let steps = (K + ${bk - 1}u) / ${bk}u;`);
  L.push(`  {`, `    let k0 = 0u;`, ...loadRegs, ...storeRegs('0u'), `  }`);
  L.push(`  workgroupBarrier();`);
  L.push(`  for (var step = 0u; step < steps; step++) {`);
  L.push(`    let cur = step % 2u;`);
  L.push(`    let more = step + 1u < steps;`);
  L.push(`    if (more) {`, `    let k0 = (step + 1u) * ${bk}u;`, ...loadRegs, `    }`);
  const unroll = cfg.unroll ?? bk;
  if (unroll < bk) L.push(`    for (var k1 = 0u; k1 < ${bk}u; k1 += ${unroll}u) {`);
  L.push(`    let aBase = cur * ${bk * BM4}u + ty${unroll < bk ? ` + k1 * ${BM4}u` : ''};`);
  L.push(`    let bBase = cur * ${bk * BN4}u + tx${unroll < bk ? ` + k1 * ${BN4}u` : ''};`);
  for (let kk = 0; kk < unroll; kk++) {
    for (let g = 0; g < G; g++) L.push(`    let a${kk}_${g} = tileA[aBase + ${kk * BM4 + g * wgY}u];`);
    for (let h = 0; h < H; h++) L.push(`    let b${kk}_${h} = tileB[bBase + ${kk * BN4 + h * wgX}u];`);
    for (let g = 0; g < G; g++) {
      for (let r = 0; r < 4; r++) {
        for (let h = 0; h < H; h++) {
          const acc = `acc${g * 4 + r}_${h}`;
          L.push(`    ${acc} = fma(vec4f(a${kk}_${g}[${r}]), b${kk}_${h}, ${acc});`);
        }
      }
    }
  }
  if (unroll < bk) L.push(`    }`);
  L.push(`    if (more) {`, ...storeRegs('1u - cur').map((s) => `  ${s}`), `    }`);
  L.push(`    workgroupBarrier();`);
  L.push(`  }`);
  // Stores.
  for (let g = 0; g < G; g++) {
    for (let r = 0; r < 4; r++) {
      const row = `row${g * 4 + r}`;
      L.push(`  let ${row} = blockRow + (ty + ${g * wgY}u) * 4u + ${r}u;`);
      L.push(`  if (${row} < M) {`);
      for (let h = 0; h < H; h++) {
        const col = `blockCol + (tx + ${h * wgX}u) * 4u`;
        const acc = `acc${g * 4 + r}_${h}`;
        if (vec4) {
          L.push(`    if (${col} < N) { c[(${row} * N + ${col}) / 4u] = ${acc}; }`);
        } else {
          for (let q = 0; q < 4; q++) L.push(`    if (${col} + ${q}u < N) { c[${row} * N + ${col} + ${q}u] = ${acc}[${q}]; }`);
        }
      }
      L.push(`  }`);
    }
  }
  L.push(`}`);
  return `${L.join('\n')}\n`;
}

/**
 * The CPU kernel. Invocation (x, y) owns rows tm·y … tm·y+tm−1 and columns tn·x … tn·x+tn−1 of
 * the slice; B is read as vec4 rows (vec4 flavour) or 4 scalars, A one scalar at a time.
 */
function registerWgsl(cfg: Extract<MatmulConfig, { family: 'register' }>, vec4: boolean): string {
  const { wgX, wgY, tm, tn, kc } = cfg;
  const T = tn / 4;
  const shared = cfg.subgroupRows === true;
  const per = tm / SUBGROUP_ROWS_SIZE;
  const L: string[] = [];
  if (shared) L.push('enable subgroups;');
  L.push(bindings({ a: 'f32', b: vec4 ? 'vec4f' : 'f32', c: 'f32' }));
  L.push(`@compute @workgroup_size(${wgX}, ${wgY})
fn main(@builtin(global_invocation_id) gid: vec3u${shared ? ', @builtin(subgroup_invocation_id) lane: u32' : ''}) {
  let M = dims.m;
  let N = dims.n;
  let K = dims.k;
  let row0 = dims.rowOffset + gid.y * ${tm}u;
  let col0 = dims.colOffset + gid.x * ${tn}u;`);
  if (shared) {
    // Lane q of the subgroup loads rows q·per … q·per+per−1 of the (common) tm rows.
    for (let p = 0; p < per; p++) L.push(`  let rl${p} = min(row0 + lane * ${per}u + ${p}u, M - 1u) * K;`);
  } else {
    for (let i = 0; i < tm; i++) L.push(`  let ra${i} = min(row0 + ${i}u, M - 1u) * K;`);
  }
  if (vec4) {
    L.push(`  let N4 = N / 4u;`);
    for (let j = 0; j < T; j++) L.push(`  let cb${j} = min(col0 / 4u + ${j}u, N4 - 1u);`);
  } else {
    for (let j = 0; j < tn; j++) L.push(`  let cb${j} = min(col0 + ${j}u, N - 1u);`);
  }
  for (let i = 0; i < tm; i++) for (let j = 0; j < T; j++) L.push(`  var acc${i}_${j} = vec4f();`);
  const loadB = (u: string, kExpr: string): string[] => {
    const out: string[] = [];
    for (let j = 0; j < T; j++) {
      if (vec4) out.push(`      let b${u}_${j} = b[(${kExpr}) * N4 + cb${j}];`);
      else {
        const parts = [0, 1, 2, 3].map((q) => `b[(${kExpr}) * N + cb${4 * j + q}]`);
        out.push(`      let b${u}_${j} = vec4f(${parts.join(', ')});`);
      }
    }
    return out;
  };
  const macs = (u: string, kExpr: string): string[] => {
    const out: string[] = [];
    if (shared) for (let p = 0; p < per; p++) out.push(`      let own${u}_${p} = a[rl${p} + ${kExpr}];`);
    for (let i = 0; i < tm; i++) {
      if (shared) out.push(`      let a${u}_${i} = vec4f(subgroupBroadcast(own${u}_${i % per}, ${Math.floor(i / per)}u));`);
      else out.push(`      let a${u}_${i} = vec4f(a[ra${i} + ${kExpr}]);`);
      for (let j = 0; j < T; j++) out.push(`      acc${i}_${j} = fma(a${u}_${i}, b${u}_${j}, acc${i}_${j});`);
    }
    return out;
  };
  L.push(`  for (var l0 = 0u; l0 < K; l0 += ${kc}u) {`);
  L.push(`    let lend = min(l0 + ${kc}u, K);`);
  L.push(`    var l = l0;`);
  L.push(`    for (; l + 4u <= lend; l += 4u) {`);
  for (let u = 0; u < 4; u++) L.push(...loadB(String(u), `l + ${u}u`));
  for (let u = 0; u < 4; u++) L.push(...macs(String(u), `l + ${u}u`));
  L.push(`    }`);
  L.push(`    for (; l < lend; l++) {`);
  L.push(...loadB('x', 'l'), ...macs('x', 'l'));
  L.push(`    }`);
  L.push(`    workgroupBarrier();`);
  L.push(`  }`);
  for (let i = 0; i < tm; i++) {
    L.push(`  if (row0 + ${i}u < M) {`);
    L.push(`    let off${i} = (row0 + ${i}u) * N;`);
    for (let j = 0; j < tn; j++) L.push(`    if (col0 + ${j}u < N) { c[off${i} + col0 + ${j}u] = acc${i}_${j >> 2}[${j & 3}]; }`);
    L.push(`  }`);
  }
  L.push(`}`);
  return `${L.join('\n')}\n`;
}
