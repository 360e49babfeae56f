import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Wallet } from 'ethers';
import { JobCreatedSchema, LeaseResponseSchema, ResultResponseSchema, TASK_FRAME_TYPE, base64ToF32, decodeTaskFrame, toF32, type Task } from '../protocol/index.js';
import { matmul } from '../kernels/index.js';
import { HubClient } from '../worker/hub-client.js';
import { acceptsTaskFrame } from './routes/worker.js';
import { call, matmulJobBody, signIn, startTestHub, type TestHub } from './testkit.js';

describe('lease answers in the form the worker asks for', () => {
  let t: TestHub;
  let token: string;
  // Four tasks of 8 rows (a cap of 8·40·24 multiply-adds).
  const M = 32;
  const N = 40;
  const K = 24;
  const job = matmulJobBody(M, N, K, 11);

  before(async () => {
    // One worker leases all four tasks of the job (a new key may hold three by default).
    t = await startTestHub({ matmulTaskMacs: 8 * N * K, standing: { newKey: { leases: 4 } } });
    token = await signIn(t.hub.url, Wallet.createRandom());
    const r = await call(`${t.hub.url}/v1/jobs`, { token: await t.hub.createCustomer('acme'), body: job.body });
    assert.equal(JobCreatedSchema.parse(r.body).tasks, 4);
  });
  after(() => t.close());

  const lease = (accept?: string): Promise<Response> =>
    fetch(`${t.hub.url}/v1/tasks/lease`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(accept ? { accept } : {}) },
      body: JSON.stringify({ kinds: ['matmul'] }),
    });
  // Tasks are leased oldest first: the i-th holds rows 8i to 8i+7 of A.
  const seen: string[] = [];
  const rowsOf = (task: Task): Float32Array => {
    const i = seen.indexOf(task.id);
    return job.a.subarray(i * 8 * K, (i + 1) * 8 * K);
  };

  it('sends the binary task frame to a worker that accepts it: A and B as raw bytes', async () => {
    const res = await lease(`${TASK_FRAME_TYPE}, application/json;q=0.9`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), TASK_FRAME_TYPE);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const { task } = LeaseResponseSchema.parse(decodeTaskFrame(bytes));
    seen.push(task.id);
    assert.ok(task.kind === 'matmul');
    assert.deepEqual(task.params, { m: 8, n: N, k: K });
    assert.ok(task.inputs.a instanceof Uint8Array && task.inputs.b instanceof Uint8Array);
    assert.deepEqual(toF32(task.inputs.a), rowsOf(task));
    assert.deepEqual(toF32(task.inputs.b), job.b);
    // 4 + header, then A (8·24 f32) and B (24·40 f32), nothing base64.
    assert.ok(bytes.byteLength < 4 * (8 * K + K * N) + 1024, `${bytes.byteLength} bytes`);
  });

  it('answers in v1 JSON (base64) without the Accept, or when the frame is refused with q=0', async () => {
    for (const accept of [undefined, 'application/json', `${TASK_FRAME_TYPE};q=0, application/json`]) {
      const res = await lease(accept);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const { task } = LeaseResponseSchema.parse(await res.json());
      seen.push(task.id);
      assert.ok(task.kind === 'matmul');
      assert.equal(typeof task.inputs.a, 'string');
      assert.deepEqual(base64ToF32(task.inputs.a as string), rowsOf(task));
      assert.deepEqual(base64ToF32(task.inputs.b as string), job.b);
    }
    assert.equal(new Set(seen).size, 4);
  });

  it('reads Accept headers as HTTP means them', () => {
    assert.equal(acceptsTaskFrame(undefined), false);
    assert.equal(acceptsTaskFrame('*/*'), false, 'only a worker that names the frame gets it');
    assert.equal(acceptsTaskFrame(`application/json, ${TASK_FRAME_TYPE.toUpperCase()}`), true);
    assert.equal(acceptsTaskFrame(`${TASK_FRAME_TYPE}; q=0.5`), true);
    assert.equal(acceptsTaskFrame(`${TASK_FRAME_TYPE}; q=0.000`), false);
  });

  it('the worker client leases by frame and its raw-bytes result is credited', async () => {
    const t2 = await startTestHub({ matmulTaskMacs: 8 * N * K });
    try {
      await call(`${t2.hub.url}/v1/jobs`, { token: await t2.hub.createCustomer('acme'), body: job.body });
      const client = new HubClient({ hubUrl: t2.hub.url, wallet: Wallet.createRandom() });
      const task = await client.lease(['matmul']);
      assert.ok(task && task.kind === 'matmul');
      assert.ok(task.inputs.a instanceof Uint8Array, 'the client asked for the frame');
      const c = matmul.matmulReference(task.params, toF32(task.inputs.a), toF32(task.inputs.b));
      const res = ResultResponseSchema.parse(await client.submit(task.id, 'matmul', { c: new Uint8Array(c.buffer) }));
      assert.equal(res.status, 'accepted');
      assert.notEqual(res.credited, '0');
    } finally {
      await t2.close();
    }
  });

  it('the worker client reads the next frame into a recycled task’s memory, and each task keeps its own inputs', async () => {
    // Two one-task jobs whose frames (B alone 128 kB) are read into pooled memory.
    const big = [matmulJobBody(16, 128, 256, 21), matmulJobBody(16, 128, 256, 22)];
    const t3 = await startTestHub({ matmulTaskMacs: 16 * 128 * 256 });
    try {
      const customer = await t3.hub.createCustomer('acme');
      for (const j of big) await call(`${t3.hub.url}/v1/jobs`, { token: customer, body: j.body });
      const client = new HubClient({ hubUrl: t3.hub.url, wallet: Wallet.createRandom() });
      const first = await client.lease(['matmul']);
      assert.ok(first && first.kind === 'matmul' && first.inputs.b instanceof Uint8Array);
      assert.deepEqual(toF32(first.inputs.b), big[0]!.b);
      const memory = first.inputs.b.buffer;
      client.recycle(first);
      const second = await client.lease(['matmul']);
      assert.ok(second && second.kind === 'matmul' && second.inputs.b instanceof Uint8Array);
      assert.equal(second.inputs.b.buffer, memory, 'the second frame was read into the first one’s memory');
      assert.deepEqual(toF32(second.inputs.a), big[1]!.a);
      assert.deepEqual(toF32(second.inputs.b), big[1]!.b);
      client.close();
    } finally {
      await t3.close();
    }
  });
});
