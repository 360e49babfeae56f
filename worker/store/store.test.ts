import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase, schemaVersion } from '../../lib/sqlite.js';
import { WORKER_MIGRATIONS } from './migrations/index.js';
import { RESULTS_DIR, WorkerStore, WORKER_DB_FILE } from './index.js';
import { PREVIEWS_KEPT } from './previews.js';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'idleforge-worker-store-'));
  dirs.push(d);
  return d;
};
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('migration 0007-handoff', () => {
  it('keeps the state history of version 6 and stores a hand-back of the GPU with its time', () => {
    const dir = tempDir();
    const v6 = openDatabase(join(dir, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 6 });
    v6.prepare("INSERT INTO state_log (at, state, reason) VALUES ('2026-01-01T00:00:00.000Z', 'waiting', 'Paused: game.exe is running')").run();
    v6.close();
    const store = WorkerStore.open(dir);
    try {
      store.stateLog.add({ at: '2026-01-01T00:00:01.000Z', state: 'waiting', reason: 'Gave the GPU back', handoffMs: 12.5 });
      assert.deepEqual(store.stateLog.recent(), [
        { at: '2026-01-01T00:00:01.000Z', state: 'waiting', reason: 'Gave the GPU back', handoffMs: 12.5 },
        { at: '2026-01-01T00:00:00.000Z', state: 'waiting', reason: 'Paused: game.exe is running' },
      ]);
      assert.throws(() => store.db.prepare("INSERT INTO state_log (at, state, reason, handoff_ms) VALUES ('x', 'waiting', 'r', -1)").run(), /CHECK/);
    } finally {
      store.close();
    }
  });
});

describe('migration 0008-ledger-rollups', () => {
  it('gives the entries of version 7 their instants and their sums by hour and day', () => {
    const dir = tempDir();
    const v7 = openDatabase(join(dir, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 7 });
    const put = v7.prepare("INSERT INTO earnings (hub, entry_id, task_id, kind, amount, status, created_at, updated_at) VALUES ('h', ?, ?, 'matmul', ?, ?, ?, 'x')");
    put.run('1', 't1', '123456789012345678901234567890', 'paid', '2026-01-05T10:15:00.000Z');
    put.run('2', 't2', '5', 'verified', '2026-01-05T15:45:00+05:30'); // 10:15 UTC too
    put.run('3', 't3', '0', 'rejected', '2026-01-06T00:00:00.000Z');
    v7.close();
    const store = WorkerStore.open(dir);
    try {
      assert.deepEqual(
        store.db.prepare('SELECT entry_id, created_ms FROM earnings ORDER BY entry_id').all(),
        [
          { entry_id: '1', created_ms: Date.parse('2026-01-05T10:15:00Z') },
          { entry_id: '2', created_ms: Date.parse('2026-01-05T10:15:00Z') },
          { entry_id: '3', created_ms: Date.parse('2026-01-06T00:00:00Z') },
        ],
      );
      assert.deepEqual(store.ledger.totals(), { pending: 0n, verified: 5n, paid: 123456789012345678901234567890n });
      const hour = store.ledger.sumsBetween(Date.parse('2026-01-05T10:00:00Z'), Date.parse('2026-01-05T11:00:00Z'));
      assert.equal(hour.verified.amount + hour.paid.amount, 123456789012345678901234567895n);
      assert.equal(store.ledger.sumsBetween(Date.parse('2026-01-06T00:00:00Z'), Date.parse('2026-01-07T00:00:00Z')).rejected.entries, 1);
      assert.equal(store.ledger.changeCursor('h'), null, 'the mirror reads the changes from the start once');
    } finally {
      store.close();
    }
  });
});

describe('migration 0012-tile-previews', () => {
  it('keeps the latest thumbnails of version 11 onwards, newest first, and refuses a wrong size', () => {
    const dir = tempDir();
    openDatabase(join(dir, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 11 }).close();
    const store = WorkerStore.open(dir);
    try {
      const tile = (i: number) => ({ hub: 'http://h', taskId: `task_${i}`, kind: 'render', width: 2, height: 1, rgb: Uint8Array.of(i, 2, 3, 4, 5, 6), createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() });
      for (let i = 0; i < PREVIEWS_KEPT + 5; i++) store.previews.save(tile(i));
      const latest = store.previews.latest(100);
      assert.equal(latest.length, PREVIEWS_KEPT, 'older thumbnails are pruned');
      assert.equal(latest[0]!.taskId, `task_${PREVIEWS_KEPT + 4}`);
      assert.deepEqual(latest[0]!.rgb, Uint8Array.of(PREVIEWS_KEPT + 4, 2, 3, 4, 5, 6));
      assert.deepEqual(store.previews.forTasks(['task_6', 'task_1', 'task_60']).map((p) => p.taskId), ['task_6'], 'task_1 was pruned; task_60 never was');
      // The same task again replaces its thumbnail.
      store.previews.save({ ...tile(6), rgb: Uint8Array.of(9, 9, 9, 9, 9, 9) });
      assert.deepEqual(store.previews.forTasks(['task_6'])[0]!.rgb, Uint8Array.of(9, 9, 9, 9, 9, 9));
      assert.throws(() => store.previews.save({ ...tile(99), rgb: Uint8Array.of(1, 2, 3) }), /CHECK/);
    } finally {
      store.close();
    }
  });
});

describe('worker store migrations', () => {
  for (const m of WORKER_MIGRATIONS) {
    it(`migrates a fresh database to exactly version ${m.version} (${m.name})`, () => {
      const dir = tempDir();
      const db = openDatabase(join(dir, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: m.version });
      assert.equal(schemaVersion(db), m.version);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2); // FULL
      db.close();
    });
  }

  it('version 1 has the ledger, results and state log tables', () => {
    const db = openDatabase(join(tempDir(), WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 1 });
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
    for (const t of ['earnings', 'results', 'state_log']) assert.ok(tables.includes(t), `missing ${t}`);
    assert.ok(!tables.includes('hubs'));
    db.close();
  });

  it('version 2 adds the hubs table and keeps version 1 data', () => {
    const dir = tempDir();
    const v1 = openDatabase(join(dir, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 1 });
    v1.prepare("INSERT INTO state_log (at, state, reason) VALUES ('2026-01-01T00:00:00.000Z', 'waiting', 'kept')").run();
    v1.close();
    const v2 = WorkerStore.open(dir);
    assert.equal(schemaVersion(v2.db), WORKER_MIGRATIONS.length);
    assert.deepEqual(v2.hubs.token('http://nowhere'), { symbol: 'IDLE', decimals: 18 });
    v2.hubs.remember('http://h', { ok: true, version: '1', chainId: 5, token: { address: null, symbol: 'TST', decimals: 6 } });
    assert.deepEqual(v2.hubs.token('http://h'), { symbol: 'TST', decimals: 6 });
    assert.equal(v2.stateLog.recent()[0]?.reason, 'kept');
    v2.close();
  });

  it('refuses a database from a newer version of the app', () => {
    const dir = tempDir();
    WorkerStore.open(dir).close();
    const raw = new Database(join(dir, WORKER_DB_FILE));
    raw.pragma('user_version = 99');
    raw.close();
    assert.throws(() => WorkerStore.open(dir), /newer than this program knows/);
  });
});

describe('ledger mirror', () => {
  it('records each hub entry once and follows status changes', () => {
    const dir = tempDir();
    const store = WorkerStore.open(dir);
    const hub = 'http://127.0.0.1:1';
    const entry = { id: '1', taskId: 'task_a', kind: 'matmul', amount: '1000', status: 'verified' as const, createdAt: '2026-01-01T00:00:00.000Z' };
    assert.equal(store.ledger.upsertMany(hub, [entry, entry]), 1);
    assert.equal(store.ledger.upsertMany(hub, [entry]), 0, 'an unchanged entry is not rewritten');
    assert.equal(store.ledger.upsertMany(hub, [{ ...entry, status: 'paid' }]), 1);
    store.close();
    const reopened = WorkerStore.open(dir);
    assert.deepEqual(reopened.ledger.list(hub), [{ ...entry, status: 'paid', hub }]);
    reopened.close();
  });
});

describe('payouts and task times (version 4)', () => {
  it('version 4 adds the payouts and task_times tables and keeps version 3 data', () => {
    const dir = tempDir();
    const v3 = openDatabase(join(dir, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 3 });
    v3.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('settings', '{\"idleMinutes\":9}', '2026-01-01T00:00:00.000Z')").run();
    assert.equal(v3.prepare("SELECT name FROM sqlite_master WHERE name = 'payouts'").get(), undefined);
    v3.close();
    const v4 = WorkerStore.open(dir);
    assert.ok(schemaVersion(v4.db) >= 4);
    assert.equal(v4.settings.get().idleMinutes, 9);
    assert.deepEqual(v4.payouts.list(), []);
    v4.close();
  });

  it('the typical GPU time of a kind counts only tasks the hub has an entry for', () => {
    const store = WorkerStore.open(tempDir());
    const hub = 'http://127.0.0.1:1';
    assert.equal(store.taskTimes.typicalMs('matmul'), null);
    const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    for (const [i, ms] of [100, 300, 200].entries()) {
      store.taskTimes.record(hub, { taskId: `t${i}`, kind: 'matmul', startedAt: at(i), gpuMs: ms });
      store.ledger.record(hub, { id: String(i + 1), taskId: `t${i}`, kind: 'matmul', amount: '1', status: 'verified', createdAt: at(i) });
    }
    // Abandoned (no ledger entry): not counted.
    store.taskTimes.record(hub, { taskId: 'gone', kind: 'matmul', startedAt: at(9), gpuMs: 5 });
    assert.equal(store.taskTimes.typicalMs('matmul'), 200);
    assert.equal(store.taskTimes.typicalMs('hashsearch'), null);
    store.close();
  });
});

describe('saved results', () => {
  it('keeps a result until it is finished, across a reopen', () => {
    const dir = tempDir();
    const hub = 'http://127.0.0.1:1';
    const store = WorkerStore.open(dir);
    const c = new Float32Array([1.5, -2, 3.25]);
    const hashsearch = { nonces: ['7'], best: { nonce: '7', hash: 'ab' } };
    const tile = Uint8Array.of(0x00, 0x3c, 0x00, 0xc1, 0x00, 0x00);
    // A matmul's C and a render tile's f16 values are kept as their raw bytes (the form they are sent in); other outputs as JSON.
    store.results.save({ hub, taskId: 't1', kind: 'matmul', leaseExpiresAt: '2030-01-01T00:00:00.000Z', output: { c: new Uint8Array(c.buffer) } });
    store.results.save({ hub, taskId: 't2', kind: 'hashsearch', leaseExpiresAt: '2030-01-01T00:00:00.000Z', output: hashsearch });
    store.results.save({ hub, taskId: 't3', kind: 'render', leaseExpiresAt: '2030-01-01T00:00:00.000Z', output: { rgbHalfChunks: tile } });
    // A render result saved as JSON (f32 base64, before results went as f16) reads back as it was.
    store.results.save({ hub, taskId: 't4', kind: 'render', leaseExpiresAt: '2030-01-01T00:00:00.000Z', output: { rgb: 'AAAAAA==' } });
    store.close();
    const reopened = WorkerStore.open(dir);
    const unsent = reopened.results.unsent(hub);
    assert.deepEqual(unsent.map((r) => r.taskId), ['t1', 't2', 't3', 't4']);
    const saved = unsent[0]!.output?.c;
    assert.ok(saved instanceof Uint8Array);
    assert.deepEqual([...new Float32Array(saved.slice().buffer)], [1.5, -2, 3.25]);
    assert.deepEqual(unsent[1]!.output, hashsearch);
    assert.deepEqual(Object.keys(unsent[2]!.output ?? {}), ['rgbHalfChunks']);
    assert.deepEqual([...(unsent[2]!.output!.rgbHalfChunks as Uint8Array)], [...tile]);
    assert.deepEqual(unsent[3]!.output, { rgb: 'AAAAAA==' });
    // The bytes live in files of their own, which go once the results are handed over.
    assert.equal(readdirSync(join(dir, RESULTS_DIR)).length, 2);
    reopened.results.finish(hub, 't1', 'accepted');
    reopened.results.finish(hub, 't3', 'accepted');
    assert.deepEqual(reopened.results.unsent(hub).map((r) => r.taskId), ['t2', 't4']);
    assert.deepEqual(readdirSync(join(dir, RESULTS_DIR)), []);
    // Results are written without an fsync each (synchronous=NORMAL); every other write keeps FULL (2).
    assert.equal(reopened.db.pragma('synchronous', { simple: true }), 2);
    reopened.close();
  });
});

describe('saved result files after a crash', () => {
  const hub = 'http://127.0.0.1:1';
  const c = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).fill(n).buffer);

  it('reads a missing or short file as unreadable, and sweeps files no unsent result names', () => {
    const dir = tempDir();
    const store = WorkerStore.open(dir);
    for (const id of ['gone', 'short', 'whole']) {
      store.results.save({ hub, taskId: id, kind: 'matmul', leaseExpiresAt: '2030-01-01T00:00:00.000Z', output: { c: c(64) } });
    }
    store.close();
    const files = (): string[] => readdirSync(join(dir, RESULTS_DIR));
    assert.equal(files().length, 3);
    // The files are named by a hash; the rows say which is whose.
    const db = new Database(join(dir, WORKER_DB_FILE));
    const fileOf = (id: string): string => (db.prepare('SELECT output_file FROM results WHERE task_id = ?').get(id) as { output_file: string }).output_file;
    const [gone, short] = [fileOf('gone'), fileOf('short')];
    db.close();
    rmSync(join(dir, RESULTS_DIR, gone));
    writeFileSync(join(dir, RESULTS_DIR, short), c(3));
    // A file written just before a crash, whose row never was: swept on open.
    writeFileSync(join(dir, RESULTS_DIR, 'orphan.f32'), c(8));
    const reopened = WorkerStore.open(dir);
    assert.ok(!files().includes('orphan.f32'));
    const unsent = new Map(reopened.results.unsent(hub).map((r) => [r.taskId, r.output]));
    assert.equal(unsent.get('gone'), null);
    assert.equal(unsent.get('short'), null);
    const whole = unsent.get('whole')?.c;
    assert.ok(whole instanceof Uint8Array);
    assert.deepEqual([...new Float32Array(whole.slice().buffer)], new Array(64).fill(64));
    reopened.close();
  });
});

describe('thermal presets (version 6)', () => {
  /** The settings row exactly as the version before presets wrote it. */
  const legacyRow = (grid: boolean[][], extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ idleMinutes: 5, scheduleEnabled: true, schedule: grid, temperatureLimitC: 85, hysteresisC: 5, intensity: 50, ...extra });
  const nightsOnly = (): boolean[][] => Array.from({ length: 7 }, () => Array.from({ length: 24 }, (_, h) => h >= 22 || h < 8));

  it('a version 5 boolean grid and intensity become presets: true → custom at the old intensity, false → off', () => {
    const dir = tempDir();
    const v5 = openDatabase(join(dir, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 5 });
    v5.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('settings', ?, '2026-01-01T00:00:00.000Z')").run(legacyRow(nightsOnly()));
    v5.close();
    const store = WorkerStore.open(dir);
    assert.equal(schemaVersion(store.db), WORKER_MIGRATIONS.length);
    const s = store.settings.get();
    assert.deepEqual(store.settings.problems, []);
    assert.equal(s.schedule[0]![23], 'custom');
    assert.equal(s.schedule[6]![3], 'custom');
    assert.equal(s.schedule[2]![12], 'off');
    assert.equal(s.schedule.flat().filter((x) => x === 'custom').length, 7 * 10);
    // Custom's cap is the old intensity; its target, new, sits just under the stored limit.
    assert.equal(s.intensity, 50);
    assert.equal(s.customTargetC, 82);
    assert.equal(s.scheduleEnabled, true);
    // The row itself was rewritten, so every reader (the CLI too) sees the new shape.
    const raw = JSON.parse(store.db.prepare<[], { value: string }>("SELECT value FROM kv WHERE key = 'settings'").get()!.value) as { schedule: unknown[][] };
    assert.equal(raw.schedule[0]![0], 'custom');
    store.close();
  });

  it('migrates a database with no settings, or with unreadable ones, without failing', () => {
    const empty = tempDir();
    openDatabase(join(empty, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 5 }).close();
    const a = WorkerStore.open(empty);
    assert.equal(a.settings.get().schedule[0]![0], 'custom');
    a.close();
    const damaged = tempDir();
    const v5 = openDatabase(join(damaged, WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 5 });
    v5.prepare("INSERT INTO kv (key, value, updated_at) VALUES ('settings', '{not json', '2026-01-01T00:00:00.000Z')").run();
    v5.close();
    const b = WorkerStore.open(damaged);
    assert.equal(b.settings.get().customTargetC, 75);
    assert.match(b.settings.problems.join(), /unreadable/);
    b.close();
  });

  it('a boolean grid written after the migration (by hand, by an older tool) still loads', () => {
    const store = WorkerStore.open(tempDir());
    store.settings.update({ idleMinutes: 3 });
    store.db.prepare("UPDATE kv SET value = ? WHERE key = 'settings'").run(legacyRow(nightsOnly(), { customTargetC: 70 }));
    const s = store.settings.get();
    assert.deepEqual(store.settings.problems, []);
    assert.equal(s.schedule[1]![22], 'custom');
    assert.equal(s.schedule[1]![12], 'off');
    assert.equal(s.customTargetC, 70);
    store.close();
  });

  it('refuses bad grids and targets in plain words', () => {
    const store = WorkerStore.open(tempDir());
    const grid = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => 'quiet'));
    store.settings.update({ scheduleEnabled: true, schedule: grid, customTargetC: 70 });
    grid[0]![0] = 'turbo';
    assert.throws(() => store.settings.update({ schedule: grid }), /schedule: each hour is off, max, balanced, quiet or custom/);
    assert.throws(() => store.settings.update({ schedule: nightsOnly() }), /schedule: each hour is off, max, balanced, quiet or custom/);
    assert.throws(() => store.settings.update({ schedule: grid.slice(1) }), /schedule: a week has 7 days/);
    assert.throws(() => store.settings.update({ customTargetC: 30 }), /customTargetC: the target must be at least 40 °C/);
    assert.throws(() => store.settings.update({ customTargetC: 70.5 }), /customTargetC: give the target in whole °C/);
    assert.throws(() => store.settings.update({ intensity: 60 }), /intensity: the intensity is 25, 50, 75 or 100 %/);
    assert.equal(store.settings.get().schedule[0]![0], 'quiet');
    store.close();
  });
});

describe('settings and pause', () => {
  it('version 3 adds the kv table', () => {
    const db = openDatabase(join(tempDir(), WORKER_DB_FILE), WORKER_MIGRATIONS, { targetVersion: 3 });
    assert.equal(schemaVersion(db), 3);
    assert.ok(db.prepare("SELECT name FROM sqlite_master WHERE name = 'kv'").get());
    db.close();
  });

  it('keeps valid changes across a reopen and refuses bad ones in plain words, losing nothing', () => {
    const dir = tempDir();
    const store = WorkerStore.open(dir);
    assert.equal(store.settings.get().idleMinutes, 5);
    store.settings.update({ idleMinutes: 10, blockedPrograms: ['blender.exe'] });
    assert.throws(() => store.settings.update({ temperatureLimitC: 120 }), /temperatureLimitC: the limit can be at most 100 °C/);
    assert.throws(() => store.settings.update({ blockedPrograms: ['C:\\Games\\x.exe'] }), /file name/);
    assert.throws(() => store.settings.update({ hubUrl: 'ftp://x' }), /hubUrl/);
    store.close();
    const again = WorkerStore.open(dir);
    const s = again.settings.get();
    assert.equal(s.idleMinutes, 10);
    assert.deepEqual(s.blockedPrograms, ['blender.exe']);
    assert.equal(s.temperatureLimitC, 80);
    again.close();
  });

  it('a damaged stored field falls back to its default and is reported', () => {
    const dir = tempDir();
    const store = WorkerStore.open(dir);
    store.settings.update({ idleMinutes: 7 });
    store.db.prepare("UPDATE kv SET value = json_set(value, '$.intensity', 33) WHERE key = 'settings'").run();
    const s = store.settings.get();
    assert.equal(s.intensity, 100);
    assert.equal(s.idleMinutes, 7);
    assert.match(store.settings.problems.join(), /intensity/);
    store.close();
  });

  it('a snooze survives a restart', () => {
    const dir = tempDir();
    const store = WorkerStore.open(dir);
    const until = new Date('2030-01-01T08:00:00.000Z');
    store.settings.setPause({ kind: 'snoozed', until });
    store.close();
    const again = WorkerStore.open(dir);
    assert.deepEqual(again.settings.pause(), { kind: 'snoozed', until });
    again.close();
  });
});
