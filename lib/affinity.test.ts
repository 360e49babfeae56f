import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { canPin, pinProcess, splitCores } from './affinity.js';

describe('core affinity for the benchmarks', () => {
  it('gives a server the last core and its client the others', { skip: canPin ? false : 'taskset is not installed here' }, () => {
    assert.equal(splitCores(1), null);
    assert.deepEqual(splitCores(2), { server: '1', client: '0' });
    assert.deepEqual(splitCores(8), { server: '7', client: '0-6' });
  });

  it('pins every thread of a running process', { skip: canPin ? false : 'taskset is not installed here' }, async () => {
    const child = spawn(process.execPath, ['-e', "process.stdout.write('up'); setTimeout(() => {}, 10000)"], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      // Once its script runs, Node has started its threads (V8's platform workers).
      await new Promise((resolve) => child.stdout.once('data', resolve));
      pinProcess(child.pid!, '0');
      const out = execFileSync('taskset', ['-a', '-p', '-c', String(child.pid)], { encoding: 'utf8' });
      const lists = [...out.matchAll(/current affinity list: (\S+)/g)].map((m) => m[1]);
      assert.ok(lists.length >= 2, `a Node process has several threads: ${out}`);
      assert.deepEqual(new Set(lists), new Set(['0']));
    } finally {
      child.kill();
    }
  });
});
