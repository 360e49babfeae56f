/** CPU reference for matmul: f64 accumulation, rounded to f32 once per element. */
export interface MatmulDims {
  m: number;
  n: number;
  k: number;
}

export function matmulReference({ m, n, k }: MatmulDims, a: Float32Array, b: Float32Array): Float32Array {
  checkSizes({ m, n, k }, a, b);
  const c = new Float32Array(m * n);
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let l = 0; l < k; l++) {
      const av = a[i * k + l]!;
      if (av === 0) continue;
      const off = l * n;
      for (let j = 0; j < n; j++) row[j]! += av * b[off + j]!;
    }
    for (let j = 0; j < n; j++) c[i * n + j] = row[j]!;
  }
  return c;
}

export function checkSizes({ m, n, k }: MatmulDims, a: Float32Array, b: Float32Array): void {
  for (const [name, v] of Object.entries({ m, n, k })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a whole number ≥ 1`);
  }
  if (a.length !== m * k) throw new RangeError(`a holds ${a.length} values, expected m×k = ${m * k}`);
  if (b.length !== k * n) throw new RangeError(`b holds ${b.length} values, expected k×n = ${k * n}`);
}

/** The paid work of a matmul: 2·m·n·k floating-point operations. */
export const matmulWorkUnits = ({ m, n, k }: MatmulDims): bigint => 2n * BigInt(m) * BigInt(n) * BigInt(k);
