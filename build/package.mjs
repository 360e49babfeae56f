#!/usr/bin/env node
// `npm run package -- --linux` (or --win, --mac): bundles the desktop app (build/desktop-bundle.ts)
// and packages it with electron-builder into artifacts/desktop/. Plain JavaScript, so that the
// Node.js check below runs first, whatever the version: electron-builder and Electron's tools
// (@electron/get, @electron/rebuild, node-abi) need Node.js 22.12 or newer, while the worker, the
// hub and the tests run on 20.19 (package.json's engines).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The oldest Node.js electron-builder and Electron's install tools accept. */
export const PACKAGING_NODE = '22.12.0';

/** Why this Node.js cannot package the app, in a sentence that names the fix; null when it can. */
export function packagingNodeProblem(version = process.versions.node) {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const [needMajor, needMinor] = PACKAGING_NODE.split('.').map(Number);
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return null;
  return (
    `Packaging the desktop app needs Node.js 22.12 or newer; this is Node.js ${version.replace(/^v/, '')}. ` +
    '(electron-builder and Electron\'s install tools require it; the worker, the hub and the tests need only Node.js 20.19.)'
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const problem = packagingNodeProblem();
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  const root = fileURLToPath(new URL('..', import.meta.url));
  const step = (args) => {
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  };
  step(['--import', 'tsx', join(root, 'build', 'desktop-bundle.ts')]);
  step([join(root, 'node_modules', 'electron-builder', 'cli.js'), ...process.argv.slice(2)]);
}
