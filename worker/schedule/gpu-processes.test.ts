import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  busyFraction,
  combineGpuProcessSources,
  drmFdinfoSource,
  nvidiaGpuProcessSource,
  parseDrmFdinfo,
  parseNvidiaComputeApps,
  parseNvidiaPmon,
  parseTasklist,
  parseTypeperfGpu,
  windowsGpuProcessSource,
} from './gpu-processes.js';

// fdinfo of one DRM client per driver, in the keys each documents (Documentation/gpu/drm-usage-stats.rst
// and the drivers' own pages): `busy` is the cumulative busy time of the main engine.
const FDINFO = {
  amdgpu: (busy: number, id = 57) =>
    `pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t1082\ndrm-driver:\tamdgpu\ndrm-client-id:\t${id}\ndrm-pdev:\t0000:03:00.0\npasid:\t32771\n` +
    `drm-memory-vram:\t409600 KiB\ndrm-memory-gtt:\t2048 KiB\ndrm-memory-cpu:\t0 KiB\ndrm-engine-gfx:\t${busy} ns\ndrm-engine-compute:\t0 ns\n` +
    `drm-engine-dma:\t1200 ns\ndrm-engine-dec:\t0 ns\ndrm-engine-enc:\t0 ns\n`,
  i915: (busy: number, id = 7) =>
    `pos:\t0\nflags:\t02100002\nmnt_id:\t24\ndrm-driver:\ti915\ndrm-client-id:\t${id}\ndrm-pdev:\t0000:00:02.0\n` +
    `drm-total-system0:\t4096 KiB\ndrm-shared-system0:\t0\ndrm-active-system0:\t0\ndrm-resident-system0:\t4096 KiB\ndrm-purgeable-system0:\t0\n` +
    `drm-engine-render:\t${busy} ns\ndrm-engine-copy:\t2035071108 ns\ndrm-engine-video:\t0 ns\ndrm-engine-capacity-video:\t2\ndrm-engine-video-enhance:\t0 ns\n`,
  // xe counts GPU cycles: busy ones over all the GPU's, per engine class.
  xe: (busyCycles: number, totalCycles: number, id = 4) =>
    `pos:\t0\nflags:\t02100002\nmnt_id:\t24\ndrm-driver:\txe\ndrm-client-id:\t${id}\ndrm-pdev:\t0000:03:00.0\n` +
    `drm-total-system:\t0\ndrm-shared-system:\t0\ndrm-active-system:\t0\ndrm-resident-system:\t0\ndrm-purgeable-system:\t0\n` +
    `drm-total-gtt:\t192 KiB\ndrm-total-vram0:\t23992 KiB\ndrm-cycles-rcs:\t${busyCycles}\ndrm-total-cycles-rcs:\t${totalCycles}\n` +
    `drm-cycles-bcs:\t0\ndrm-total-cycles-bcs:\t${totalCycles}\ndrm-cycles-vcs:\t0\ndrm-total-cycles-vcs:\t${totalCycles}\ndrm-engine-capacity-vcs:\t2\n`,
  nouveau: (busy: number, id = 12) =>
    `pos:\t0\nflags:\t02100002\ndrm-driver:\tnouveau\ndrm-client-id:\t${id}\ndrm-pdev:\t0000:01:00.0\n` +
    `drm-total-vram:\t65536 KiB\ndrm-resident-vram:\t65536 KiB\ndrm-engine-gr:\t${busy} ns\ndrm-engine-ce:\t0 ns\n`,
  'nvidia-drm': (busy: number, id = 31) =>
    `pos:\t0\nflags:\t02100002\ndrm-driver:\tnvidia-drm\ndrm-client-id:\t${id}\ndrm-pdev:\t0000:01:00.0\n` +
    `drm-total-vram:\t1048576 KiB\ndrm-engine-gr:\t${busy} ns\ndrm-engine-ce:\t0 ns\ndrm-engine-nvdec:\t0 ns\n`,
  // A driver that reports memory alone cannot tell busy from idle.
  memoryOnly: (kib: number, id = 90) => `drm-driver:\tvirtio_gpu\ndrm-client-id:\t${id}\ndrm-total-vram:\t${kib} KiB\ndrm-resident-vram:\t${kib} KiB\n`,
};

/** A /proc-like tree: processes with cmdline, comm, stat (for the parent pid), fd links and fdinfo. */
function procTree() {
  const root = mkdtempSync(join(tmpdir(), 'idleforge-fdinfo-'));
  return {
    root,
    process(pid: number, name: string, ppid = 1) {
      mkdirSync(join(root, String(pid), 'fd'), { recursive: true });
      mkdirSync(join(root, String(pid), 'fdinfo'), { recursive: true });
      writeFileSync(join(root, String(pid), 'cmdline'), `/usr/bin/${name}\0--flag\0`);
      writeFileSync(join(root, String(pid), 'comm'), `${name.slice(0, 15)}\n`);
      writeFileSync(join(root, String(pid), 'stat'), `${pid} (${name}) S ${ppid} ${pid} ${pid} 0 -1 4194560 0 0`);
    },
    fd(pid: number, fd: number, target: string, fdinfo: string) {
      const link = join(root, String(pid), 'fd', String(fd));
      rmSync(link, { force: true });
      symlinkSync(target, link);
      writeFileSync(join(root, String(pid), 'fdinfo', String(fd)), fdinfo);
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

describe('GPU processes from DRM fdinfo', () => {
  const trees: { remove(): void }[] = [];
  after(() => {
    for (const t of trees) t.remove();
  });

  it('parses each driver’s keys: engines in ns, xe’s cycles, not the engine capacity', () => {
    const a = parseDrmFdinfo(FDINFO.amdgpu(1_228_391_020));
    assert.deepEqual(a && { client: a.client, gfx: a.engineNs.gfx, engines: Object.keys(a.engineNs).length }, { client: 'amdgpu/0000:03:00.0/57', gfx: 1_228_391_020, engines: 5 });
    const i = parseDrmFdinfo(FDINFO.i915(9_288_864_723));
    assert.equal(i?.engineNs.render, 9_288_864_723);
    assert.equal(i?.engineNs['capacity-video'], undefined);
    const xe = parseDrmFdinfo(FDINFO.xe(28_257_900, 7_655_183_225));
    assert.deepEqual(xe?.cycles.rcs, { busy: 28_257_900, total: 7_655_183_225 });
    assert.equal(parseDrmFdinfo('pos:\t0\nflags:\t0100002\nmnt_id:\t15\nino:\t6\n'), null, 'not a DRM file');
    const later = parseDrmFdinfo(FDINFO.xe(28_257_900 + 500, 7_655_183_225 + 1000))!;
    assert.equal(busyFraction(xe!, later, 1e9), 0.5);
    assert.equal(busyFraction(parseDrmFdinfo(FDINFO.amdgpu(0))!, parseDrmFdinfo(FDINFO.amdgpu(250_000_000))!, 1e9), 0.25);
  });

  it('counts a process whose busy time grew between two reads, not one that stood still, nor the worker’s own', async () => {
    const t = procTree();
    trees.push(t);
    const child = 5_000_001; // above pid_max's ceiling (4194304): no real process
    const helper = 5_000_002;
    const shared = 5_000_003;
    const dri = '/dev/dri/renderD128';
    let now = 0;
    const setup = (grow: number): void => {
      t.fd(3_000_101, 5, dri, FDINFO.amdgpu(1_000_000 + grow)); // blender, busy
      t.fd(3_000_101, 6, dri, FDINFO.amdgpu(1_000_000 + grow)); // the same client on a second fd
      t.fd(3_000_102, 9, '/dev/dri/card1', FDINFO.i915(5_000_000)); // firefox, idle
      t.fd(3_000_103, 11, dri, FDINFO.xe(1000 + grow / 1000, 1_000_000 + now * 1000)); // a Proton game on xe (1 M cycles a ms)
      t.fd(3_000_104, 7, dri, FDINFO.nouveau(2_000 + grow)); // glxgears on nouveau
      t.fd(3_000_105, 8, '/dev/dri/renderD129', FDINFO['nvidia-drm'](7_000 + grow)); // a CUDA-less GL app on NVIDIA's open driver
      t.fd(3_000_106, 4, dri, FDINFO.memoryOnly(1024 + grow)); // memory alone: cannot tell
      t.fd(3_000_107, 3, dri, FDINFO.amdgpu(9_000 + grow, 70)); // Xorg: draws the desktop for everyone
      t.fd(3_000_108, 3, '/dev/null', FDINFO.amdgpu(9_000 + grow, 71)); // not a DRM node's link
      t.fd(process.pid, 20, dri, FDINFO.amdgpu(3_000 + grow, 80)); // the worker itself
      t.fd(child, 20, dri, FDINFO.amdgpu(3_000 + grow, 81)); // its child (Electron's GPU process)
      t.fd(helper, 20, dri, FDINFO.amdgpu(3_000 + grow, 82)); // named in ownPids
      t.fd(shared, 20, dri, FDINFO.amdgpu(3_000 + grow, 80)); // holds the worker's client (a fork)
    };
    t.process(3_000_101, 'blender');
    t.process(3_000_102, 'firefox');
    t.process(3_000_103, 'Game.exe');
    t.process(3_000_104, 'glxgears');
    t.process(3_000_105, 'glmark2');
    t.process(3_000_106, 'qemu-guest-app');
    t.process(3_000_107, 'Xorg');
    t.process(3_000_108, 'cat');
    t.process(process.pid, 'node');
    t.process(child, 'electron', process.pid);
    t.process(helper, 'compute-renderer');
    t.process(shared, 'forked', 1);
    const source = drmFdinfoSource({ procRoot: t.root, ownPids: () => [helper], now: () => now });
    setup(0);
    assert.deepEqual(await source(), [], 'the first read has nothing to compare with');
    now = 1000;
    setup(400_000_000); // 40 % of the second
    assert.deepEqual(await source(), ['blender', 'Game.exe', 'glmark2', 'glxgears']);
    now = 2000;
    assert.deepEqual(await source(), [], 'nothing grew since');
    now = 3000;
    setup(400_000_000 + 2_000_000); // 0.2 %: under the 1 % floor
    assert.deepEqual(await source(), []);
    // A program started since the last read is seen on its second read.
    t.process(3_000_200, 'obs');
    t.fd(3_000_200, 30, dri, FDINFO.amdgpu(0, 200));
    now = 4000;
    assert.deepEqual(await source(), []);
    t.fd(3_000_200, 30, dri, FDINFO.amdgpu(100_000_000, 200));
    now = 5000;
    assert.deepEqual(await source(), ['obs']);
  });

  it('while a game uses the GPU, reads only the processes holding DRM files, and walks /proc again every few reads', async () => {
    const t = procTree();
    trees.push(t);
    const dri = '/dev/dri/renderD128';
    let now = 0;
    t.process(3_100_001, 'Game.exe');
    t.fd(3_100_001, 5, dri, FDINFO.amdgpu(0));
    const source = drmFdinfoSource({ procRoot: t.root, now: () => now, rescanEvery: 4 });
    assert.deepEqual(await source(), []); // read 1: baseline
    now = 1000;
    t.fd(3_100_001, 5, dri, FDINFO.amdgpu(500_000_000));
    assert.deepEqual(await source(), ['Game.exe']); // read 2: in use from now on
    // A second program starts using the GPU: not walked to until the next full walk (read 4)
    // gives its baseline, and counted on read 5.
    t.process(3_100_002, 'obs');
    t.fd(3_100_002, 7, dri, FDINFO.amdgpu(0, 300));
    const seen: string[][] = [];
    for (let read = 3; read <= 5; read++) {
      now += 1000;
      t.fd(3_100_001, 5, dri, FDINFO.amdgpu(500_000_000 * read));
      t.fd(3_100_002, 7, dri, FDINFO.amdgpu(100_000_000 * read, 300));
      seen.push((await source()) ?? []);
    }
    assert.deepEqual(seen, [['Game.exe'], ['Game.exe'], ['Game.exe', 'obs']]);
    // Both stop: noticed on the next read, without a walk.
    now += 1000;
    assert.deepEqual(await source(), []);
  });

  it('reads this machine’s real /proc without throwing (no DRM device here: nothing counts)', async () => {
    const source = drmFdinfoSource();
    const t0 = performance.now();
    const first = await source();
    const second = await source();
    const ms = (performance.now() - t0) / 2;
    assert.ok(Array.isArray(first) && Array.isArray(second), 'a list, empty or not');
    for (const name of second ?? []) assert.equal(typeof name, 'string');
    process.stderr.write(`# real /proc: ${JSON.stringify(second)}, ${ms.toFixed(1)} ms a read\n`);
    assert.equal(await drmFdinfoSource({ procRoot: join(tmpdir(), 'no-such-proc-root') })(), null, 'no /proc: cannot tell');
  });
});

describe('GPU processes from nvidia-smi (outputs in the tool’s format)', () => {
  const COMPUTE = `${process.pid}, node, 1200\n23456, /opt/blender/blender, 5120\n34567, [Not Found], 300\n`;
  // pmon's header grew columns over driver versions (jpg, ofa); columns are read by name.
  const PMON_OLD = '# gpu        pid  type    sm   mem   enc   dec   command\n# Idx          #   C/G     %     %     %     %   name\n    0       2113     G     3     1     -     -   Xorg\n    0      24001   C+G    45    15     0     0   Cyberpunk2077.exe\n    0      24002     G     -     -     -     -   steamwebhelper\n';
  const PMON_NEW =
    '# gpu         pid   type     sm    mem    enc    dec    jpg    ofa    command \n# Idx           #    C/G      %      %      %      %      %      %    name \n' +
    '    0       5100     G      0      0      -      -      -      -    gnome-shell    \n    0       5200     G      -      -      -     12      -      -    mpv            \n';

  it('parses compute apps and pmon’s busy processes', () => {
    assert.deepEqual(parseNvidiaComputeApps(COMPUTE), [
      { pid: process.pid, name: 'node' },
      { pid: 23456, name: 'blender' },
      { pid: 34567, name: 'process 34567' },
    ]);
    assert.deepEqual(parseNvidiaComputeApps('No running processes found\n'), []);
    assert.deepEqual(parseNvidiaPmon(PMON_OLD), [
      { pid: 2113, name: 'Xorg' },
      { pid: 24001, name: 'Cyberpunk2077.exe' },
    ]);
    assert.deepEqual(parseNvidiaPmon(PMON_NEW), [{ pid: 5200, name: 'mpv' }]);
    assert.deepEqual(parseNvidiaPmon('# gpu        pid  type    sm   mem   enc   dec   command\n# Idx          #   C/G     %     %     %     %   name\n    0          -     -     -     -     -     -   -\n'), []);
  });

  it('names the busy processes of pmon’s sample in one call, never the worker’s, the display server or an idle CUDA context', async () => {
    const calls: string[] = [];
    const source = nvidiaGpuProcessSource({
      procRoot: null,
      run: async (_cmd, args) => {
        calls.push(args[0]!);
        return args[0] === 'pmon' ? PMON_OLD : COMPUTE;
      },
    });
    // blender holds a CUDA context (compute apps) but pmon saw it idle: it does not stop work.
    assert.deepEqual(await source(), ['Cyberpunk2077.exe']);
    assert.deepEqual(calls, ['pmon'], 'one nvidia-smi a poll');
  });

  it('falls back to every process with a compute context where pmon is not supported', async () => {
    const calls: string[] = [];
    const source = nvidiaGpuProcessSource({
      procRoot: null,
      run: async (_cmd, args) => {
        calls.push(args[0]!);
        if (args[0] === 'pmon') throw new Error('Not supported on this GPU');
        return COMPUTE;
      },
    });
    assert.deepEqual(await source(), ['blender', 'process 34567']);
    assert.deepEqual(calls, ['pmon', '--query-compute-apps=pid,process_name,used_memory']);
    const broken = nvidiaGpuProcessSource({ run: async () => Promise.reject(new Error('NVIDIA-SMI has failed')) });
    assert.equal(await broken(), null);
  });
});

describe('GPU processes on Windows (recorded typeperf and tasklist outputs; not run on the real OS)', () => {
  const TYPEPERF =
    '\r\n"(PDH-CSV 4.0)","\\\\DESK\\GPU Engine(pid_1234_luid_0x00000000_0x0000D1B6_phys_0_eng_0_engtype_3D)\\Utilization Percentage",' +
    '"\\\\DESK\\GPU Engine(pid_1234_luid_0x00000000_0x0000D1B6_phys_0_eng_3_engtype_VideoDecode)\\Utilization Percentage",' +
    '"\\\\DESK\\GPU Engine(pid_5678_luid_0x00000000_0x0000D1B6_phys_0_eng_0_engtype_3D)\\Utilization Percentage",' +
    '"\\\\DESK\\GPU Engine(pid_900_luid_0x00000000_0x0000D1B6_phys_0_eng_0_engtype_3D)\\Utilization Percentage",' +
    `"\\\\DESK\\GPU Engine(pid_${process.pid}_luid_0x00000000_0x0000D1B6_phys_0_eng_0_engtype_Compute_0)\\Utilization Percentage"\r\n` +
    '"11/24/2026 14:30:01.250","87.512345","3.000000","0.000000","6.250000","99.000000"\r\n' +
    'Exiting, please wait...\r\nThe command completed successfully.\r\n';
  const TASKLIST =
    '"System Idle Process","0","Services","0","8 K"\r\n"dwm.exe","900","Console","1","98,112 K"\r\n"Cyberpunk2077.exe","1234","Console","1","8,112,004 K"\r\n' +
    '"explorer.exe","5678","Console","1","150,220 K"\r\n';

  it('parses the counters (busiest engine per pid) and the process names', () => {
    assert.deepEqual(
      [...parseTypeperfGpu(TYPEPERF)],
      [
        [1234, 87.512345],
        [5678, 0],
        [900, 6.25],
        [process.pid, 99],
      ],
    );
    assert.equal(parseTasklist(TASKLIST).get(1234), 'Cyberpunk2077.exe');
    assert.equal(parseTypeperfGpu('Error: No valid counters.\r\n').size, 0);
  });

  it('names the busy ones, leaving out the worker and the desktop compositor (dwm.exe)', async () => {
    const source = windowsGpuProcessSource({ run: async (cmd) => (cmd === 'typeperf' ? TYPEPERF : TASKLIST) });
    assert.deepEqual(await source(), ['Cyberpunk2077.exe']);
    assert.equal(await windowsGpuProcessSource({ run: async () => Promise.reject(new Error('no counters')) })(), null);
  });
});

describe('combined GPU process sources', () => {
  it('joins what each can tell; null only when none can', async () => {
    const says = (v: string[] | null) => async () => v;
    assert.deepEqual(await combineGpuProcessSources(says(['b', 'a']), says(null), says(['a']))(), ['a', 'b']);
    assert.deepEqual(await combineGpuProcessSources(says([]), says(null))(), []);
    assert.equal(await combineGpuProcessSources(says(null), async () => Promise.reject(new Error('x')))(), null);
  });
});
