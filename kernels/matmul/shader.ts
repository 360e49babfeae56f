/**
 * Tiled f32 GEMM in WGSL. The tile size is defined here once and used both in the shader text
 * and in the dispatch (host.ts), so the two can never disagree.
 */
export const TILE = 16;

export const MATMUL_WGSL = /* wgsl */ `
const TILE: u32 = ${TILE}u;

struct Dims { m: u32, n: u32, k: u32, rowOffset: u32 }

@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

var<workgroup> tileA: array<array<f32, TILE>, TILE>;
var<workgroup> tileB: array<array<f32, TILE>, TILE>;

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let row = dims.rowOffset + wid.y * TILE + lid.y;
  let col = wid.x * TILE + lid.x;
  var acc = 0.0;
  let tiles = (dims.k + TILE - 1u) / TILE;
  for (var t = 0u; t < tiles; t++) {
    let ka = t * TILE + lid.x;
    if (row < dims.m && ka < dims.k) {
      tileA[lid.y][lid.x] = a[row * dims.k + ka];
    } else {
      tileA[lid.y][lid.x] = 0.0;
    }
    let kb = t * TILE + lid.y;
    if (kb < dims.k && col < dims.n) {
      tileB[lid.y][lid.x] = b[kb * dims.n + col];
    } else {
      tileB[lid.y][lid.x] = 0.0;
    }
    workgroupBarrier();
    for (var i = 0u; i < TILE; i++) {
      acc = acc + tileA[lid.y][i] * tileB[i][lid.x];
    }
    workgroupBarrier();
  }
  if (row < dims.m && col < dims.n) {
    c[row * dims.n + col] = acc;
  }
}
`;
