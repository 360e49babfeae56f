/**
 * Packaging, checked without packaging: electron-builder.yml is loaded and validated by
 * electron-builder's own code against its JSON schema, then held to what the app needs; the
 * afterPack hook flips a real fuse wire (a copy of the layout Electron binaries carry) and the
 * result is read back with @electron/fuses.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import afterPack, { electronBinary, FUSE_CONFIG } from './afterPack.mjs';
import type * as Fuses from '@electron/fuses';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

const config = z.object({ getConfig: z.function(), validateConfiguration: z.function() }).parse(require('app-builder-lib/out/util/config/config.js'));

// electron-builder logs to stdout, where node --test's child also writes its own serialized
// messages; a log line landing amid them was once read as a broken message ("Unable to
// deserialize cloned data"), failing the file. Its logger (the instance app-builder-lib uses)
// writes to stderr here instead.
const builderLog: unknown = createRequire(require.resolve('app-builder-lib/package.json'))('builder-util/out/log.js');
if (typeof builderLog !== 'object' || builderLog === null || !('log' in builderLog) || typeof builderLog.log !== 'object' || builderLog.log === null || !('stream' in builderLog.log)) {
  throw new Error("builder-util's logger has changed shape: see why it is redirected above");
}
builderLog.log.stream = process.stderr;
const fuses = require('@electron/fuses') as typeof Fuses;
const yaml = z.object({ load: z.function() }).parse(require('js-yaml'));

async function load(file: string): Promise<Record<string, unknown>> {
  return (await config.getConfig(ROOT, file)) as Record<string, unknown>;
}
const validate = (c: unknown): Promise<void> => config.validateConfiguration(c, { isEnabled: false, add: () => {} }) as Promise<void>;

test('electron-builder.yml passes electron-builder’s own validation; a wrong key does not', async () => {
  const c = await load(join(ROOT, 'electron-builder.yml'));
  await validate(c);
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-eb-'));
  try {
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, `${readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')}\nlinux:\n  targets: [AppImage]\n`);
    await assert.rejects(async () => validate(await load(bad)), /unknown property|should NOT have additional|must NOT have additional|targets/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the package: every platform’s targets, icons made by the project, native modules unpacked, the bundle as main', async () => {
  const c = z
    .object({
      files: z.array(z.string()),
      extraMetadata: z.object({ main: z.string() }),
      asar: z.literal(true),
      asarUnpack: z.array(z.string()),
      npmRebuild: z.literal(true),
      afterPack: z.string(),
      linux: z.object({ target: z.array(z.string()), icon: z.string() }),
      win: z.object({ target: z.string(), icon: z.string() }),
      mac: z.object({ target: z.string(), icon: z.string() }),
    })
    .parse(yaml.load(readFileSync(join(ROOT, 'electron-builder.yml'), 'utf8')));
  assert.deepEqual(c.linux.target, ['AppImage', 'deb']);
  assert.equal(c.win.target, 'nsis');
  assert.equal(c.mac.target, 'dmg');
  assert.deepEqual([c.linux.icon, c.win.icon, c.mac.icon], ['build/icon.png', 'build/icon.ico', 'build/icon.icns']);
  for (const icon of [c.linux.icon, c.win.icon, c.mac.icon]) assert.ok(existsSync(join(ROOT, icon)), `${icon} is missing`);
  for (const mod of ['better-sqlite3', 'webgpu']) assert.ok(c.asarUnpack.some((p) => p.includes(`node_modules/${mod}/`)), `${mod} must be unpacked from the asar`);
  assert.ok(c.asarUnpack.includes('**/*.node'));
  assert.equal(c.extraMetadata.main, 'dist/desktop/main.mjs', 'main is what build/desktop-bundle.ts writes');
  assert.ok(c.files.includes('dist/desktop/**/*'));
  assert.ok(c.files.includes('!**/node_modules/@sparticuz/chromium{,/**/*}'), 'the tests\' headless Chromium (about 65 MB) stays out of the app');
  assert.ok(existsSync(join(ROOT, c.afterPack)), `${c.afterPack} is missing`);
});

test('afterPack turns RunAsNode, NODE_OPTIONS and --inspect off, asar integrity and app-from-asar-only on', async () => {
  const { FuseState, FuseV1Options } = { FuseState: { DISABLE: 48, ENABLE: 49 }, FuseV1Options: fuses.FuseV1Options };
  const dir = mkdtempSync(join(tmpdir(), 'idleforge-fuses-'));
  try {
    // An Electron binary's fuse wire: the sentinel, the wire's version and length, then one byte
    // per fuse; Electron ships with these on ('1') except the asar ones ('0').
    const wire = Buffer.from('11110000', 'latin1');
    const binary = Buffer.concat([Buffer.alloc(64, 7), Buffer.from('dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX', 'latin1'), Buffer.from([1, wire.length]), wire, Buffer.alloc(64, 7)]);
    const context = { appOutDir: dir, electronPlatformName: 'linux', packager: { appInfo: { productFilename: 'Idleforge' }, executableName: 'idleforge' } };
    const path = electronBinary(context);
    assert.equal(path, join(dir, 'idleforge'));
    writeFileSync(path, binary);
    const before = await fuses.getCurrentFuseWire(path);
    assert.equal(before[FuseV1Options.RunAsNode], FuseState.ENABLE);
    await afterPack(context);
    const after = await fuses.getCurrentFuseWire(path);
    assert.equal(after[FuseV1Options.RunAsNode], FuseState.DISABLE);
    assert.equal(after[FuseV1Options.EnableNodeOptionsEnvironmentVariable], FuseState.DISABLE);
    assert.equal(after[FuseV1Options.EnableNodeCliInspectArguments], FuseState.DISABLE);
    assert.equal(after[FuseV1Options.EnableEmbeddedAsarIntegrityValidation], FuseState.ENABLE);
    assert.equal(after[FuseV1Options.OnlyLoadAppFromAsar], FuseState.ENABLE);
    assert.equal(readFileSync(path).length, binary.length, 'only the wire changes');
    assert.equal(FUSE_CONFIG.version, fuses.FuseVersion.V1);
    // The other platforms' binaries.
    assert.equal(electronBinary({ ...context, electronPlatformName: 'win32' }), join(dir, 'Idleforge.exe'));
    assert.equal(electronBinary({ ...context, electronPlatformName: 'darwin' }), join(dir, 'Idleforge.app'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
