/**
 * The systemd units of deploy/: `systemd-analyze verify` reads each (the hub's template as an
 * instance, idleforge-hub@8787.service) and must say nothing at all (it exits 0 on an unknown key
 * and only warns, so a warning fails here too); where systemd-analyze is missing, that part is
 * skipped with the reason. The hardening and the keys the docs promise are checked by reading the
 * files, everywhere.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../hub/testkit.js';

const deploy = fileURLToPath(new URL('../deploy/', import.meta.url));
const noAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).error !== undefined;

/** A unit file's keys by section: `{ Service: { User: ['idleforge'], … } }` (a key may repeat). */
export function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section: Record<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[([A-Za-z]+)\]$/.exec(line);
    if (head) {
      section = out[head[1]!] ??= {};
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    assert.ok(kv && section, `not a unit file line: ${line}`);
    (section[kv[1]!] ??= []).push(kv[2]!);
  }
  return out;
}

const UNITS = ['idleforge-hub@.service', 'idleforge-feeder.service'];

describe('deploy/ systemd units', () => {
  it('pass systemd-analyze verify without a word', { skip: noAnalyze ? 'systemd-analyze is not installed (systemd)' : false }, async () => {
    const dir = await tempDir('idleforge-units-');
    try {
      copyFileSync(join(deploy, 'idleforge-hub@.service'), join(dir.path, 'idleforge-hub@.service'));
      copyFileSync(join(deploy, 'idleforge-hub@.service'), join(dir.path, 'idleforge-hub@8787.service'));
      copyFileSync(join(deploy, 'idleforge-feeder.service'), join(dir.path, 'idleforge-feeder.service'));
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', './idleforge-hub@8787.service', './idleforge-feeder.service'], { cwd: dir.path, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(`${r.stdout}${r.stderr}`.trim(), '');
    } finally {
      await dir.remove();
    }
  });

  for (const name of UNITS) {
    it(`${name} is hardened and reads its secrets from an EnvironmentFile`, () => {
      const unit = parseUnit(readFileSync(join(deploy, name), 'utf8'));
      const s = unit.Service ?? {};
      const one = (key: string): string | undefined => s[key]?.at(-1);
      assert.ok(unit.Unit?.Description && unit.Install?.WantedBy, 'Description and WantedBy');
      assert.match(one('ExecStart') ?? '', /^\/usr\/bin\/node \/opt\/idleforge\/bin\/idleforge\.mjs (hub|feeder) /);
      assert.equal(one('NoNewPrivileges'), 'yes');
      assert.equal(one('ProtectSystem'), 'strict');
      assert.equal(one('ProtectHome'), 'yes');
      assert.equal(one('PrivateTmp'), 'yes');
      assert.equal(one('CapabilityBoundingSet'), '');
      assert.match(one('EnvironmentFile') ?? '', /^\/etc\/idleforge\/[a-z]+\.env$/);
      assert.ok(one('DynamicUser') === 'yes' || one('User') === 'idleforge', 'its own user');
      assert.equal(one('MemoryDenyWriteExecute'), undefined, "Node's JIT needs it off");
      // Secrets never on the command line, where every user of the machine can read them.
      assert.doesNotMatch(one('ExecStart') ?? '', /KEY|treasury/i);
    });
  }

  it('reads the hub database from its EnvironmentFile, the port from the instance, behind a trusted proxy', () => {
    const text = readFileSync(join(deploy, 'idleforge-hub@.service'), 'utf8');
    const s = parseUnit(text).Service ?? {};
    assert.deepEqual(s.EnvironmentFile, ['/etc/idleforge/hub.env']);
    // The database is PostgreSQL's, named by IDLEFORGE_HUB_DB there: no password on the command
    // line, no SQLite file, nothing of the hub's on disk.
    assert.match(text, /^#\s+IDLEFORGE_HUB_DB=postgres:\/\//m);
    assert.equal(s.StateDirectory, undefined);
    const exec = s.ExecStart?.[0] ?? '';
    assert.match(exec, /^\/usr\/bin\/node \/opt\/idleforge\/bin\/idleforge\.mjs hub /);
    assert.doesNotMatch(exec, /--db|postgres|\.db\b/);
    assert.match(exec, / --port %i/);
    assert.match(exec, / --trust-proxy 127\.0\.0\.1/);
    // The HAProxy config's servers are on the address the hub listens on, one per instance.
    assert.match(exec, / --host 127\.0\.0\.1 /);
    const servers = [...readFileSync(join(deploy, 'haproxy.cfg'), 'utf8').matchAll(/^\s*server (\S+) 127\.0\.0\.1:(\d+) check$/gm)];
    assert.deepEqual(
      servers.map((m) => `${m[1]} ${m[2]}`),
      ['hub1 8787', 'hub2 8788', 'hub3 8789'],
    );
  });
});
