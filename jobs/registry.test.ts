/**
 * The registry of kinds: one spec per kind of protocol/kinds/index.ts, each complete. The
 * type-level half is checked by the typecheck (`@ts-expect-error` fails it when the line below
 * stops being an error); the rest runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JOB_KINDS, JobRequestSchema, KIND_WIRES, TaskSchema, type JobKind } from '../protocol/index.js';
import { hashsearchSpec } from './hashsearch.js';
import { JOB_SPECS, KIND_NAMES, specOf } from './index.js';
import { matmulSpec } from './matmul.js';
import type { JobKindSpec } from './types.js';

type Registry = { readonly [K in JobKind]: JobKindSpec<K> };

// A registry that lacks a kind does not typecheck...
// @ts-expect-error hashsearch is missing
export const missingKind = { matmul: matmulSpec } satisfies Registry;
// ...nor one whose entry is another kind's spec...
// @ts-expect-error the hashsearch entry is matmul's spec
export const wrongKind = { matmul: matmulSpec, hashsearch: matmulSpec } satisfies Registry;
// ...nor a spec that lacks a member.
const { verify: _verify, ...withoutVerify } = hashsearchSpec;
// @ts-expect-error `verify` is missing
export const missingMember: JobKindSpec<'hashsearch'> = withoutVerify;

describe('registry of job kinds', () => {
  it('has one spec per kind of the wire, under its own name', () => {
    assert.deepEqual(Object.keys(JOB_SPECS), [...JOB_KINDS]);
    assert.deepEqual([...KIND_NAMES], [...JOB_KINDS]);
    for (const wire of KIND_WIRES) {
      const spec = specOf(wire.kind);
      assert.equal(spec.kind, wire.kind);
      assert.equal(spec.wire, wire);
    }
    assert.throws(() => specOf('sort'), /cannot run tasks of kind "sort"/);
  });

  it("makes demo jobs that parse as their kind's job request", () => {
    let seed = 1;
    const random = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (const kind of JOB_KINDS) {
      const job = specOf(kind).demo.make(random);
      assert.equal(JobRequestSchema.parse(job).kind, kind);
      assert.ok(specOf(kind).demo.describe(specOf(kind).demo.fields(job)).length > 0);
    }
  });

  it('decodes a leased task of every kind', () => {
    const common = { id: 'task_1', reward: '1', leaseExpiresAt: '2030-01-01T00:00:00.000Z' };
    const matmul = TaskSchema.parse({ ...common, kind: 'matmul', params: { m: 1, n: 1, k: 1 }, inputs: { a: new Uint8Array(4), b: new Uint8Array(4) } });
    const hashsearch = TaskSchema.parse({ ...common, kind: 'hashsearch', params: { header: 'AB', target: 'F'.repeat(64), start: '5', count: 2 }, inputs: {} });
    assert.deepEqual(specOf('matmul').decode(matmul), { kind: 'matmul', dims: { m: 1, n: 1, k: 1 }, a: new Float32Array(1), b: new Float32Array(1) });
    assert.deepEqual(specOf('hashsearch').decode(hashsearch), { kind: 'hashsearch', spec: { header: 'AB', target: 'f'.repeat(64), start: 5n, count: 2 } });
    const scene = { camera: { from: [0, 0, 3], at: [0, 0, 0], fov: 40 }, environment: [1, 1, 1], materials: [{ type: 'diffuse', color: [0.5, 0.5, 0.5] }], spheres: [{ center: [0, 0, 0], radius: 1, material: 0 }] };
    const params = { width: 64, height: 64, x: 0, y: 0, w: 64, h: 64, sampleStart: 2, sampleCount: 3, seed: 9, flopsPerSample: 100 };
    const render = TaskSchema.parse({ ...common, kind: 'render', params, inputs: { scene } });
    // The scene's defaults are filled in by the schema.
    assert.deepEqual(specOf('render').decode(render), {
      kind: 'render',
      scene: { ...scene, camera: { ...scene.camera, up: [0, 1, 0] }, triangles: [], maxBounces: 6 },
      tile: { width: 64, height: 64, x: 0, y: 0, w: 64, h: 64, sampleStart: 2, sampleCount: 3, seed: 9 },
      flopsPerSample: 100,
    });
    assert.equal(TaskSchema.safeParse({ ...common, kind: 'render', params: { ...params, x: 1 }, inputs: { scene } }).success, false, 'a tile outside the image');
  });
});
