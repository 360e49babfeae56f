/**
 * The packaging command (`npm run package`, build/package.mjs) refuses a Node.js older than
 * electron-builder's 22.12 with one plain sentence, before it bundles or packages anything.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { packagingNodeProblem, PACKAGING_NODE } from './package.mjs';
import { ROOT } from './desktop-bundle.js';

test('packaging needs Node.js 22.12 or newer, and says so plainly', () => {
  assert.equal(PACKAGING_NODE, '22.12.0');
  for (const ok of ['22.12.0', '22.13.1', 'v24.0.0', '25.2.0']) assert.equal(packagingNodeProblem(ok), null, ok);
  for (const old of ['20.19.0', '20.20.2', '22.11.0', 'v21.7.3']) {
    const problem = packagingNodeProblem(old);
    assert.match(problem ?? '', /^Packaging the desktop app needs Node\.js 22\.12 or newer; this is Node\.js \d/, old);
    assert.ok(problem?.includes(old.replace(/^v/, '')));
  }
});

test('npm run package stops at once on an older Node.js', { skip: packagingNodeProblem() === null && 'this Node.js can package' }, () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'build', 'package.mjs'), '--linux'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim(), packagingNodeProblem());
  assert.equal(r.stdout, '', 'nothing was bundled or packaged');
});
