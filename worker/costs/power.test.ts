/** Power sensors on the tool's output and on fixture /sys trees; the estimate where none reads. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { boardPowerOf, estimatePower, hwmonPowerSensor, nvidiaPowerSensor, parseNvidiaPower, PowerMeter, UNKNOWN_BOARD_W } from './power.js';

describe('GPU power draw', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('reads nvidia-smi’s power.draw and power.limit, adding up the GPUs and skipping [N/A]', async () => {
    assert.deepEqual(parseNvidiaPower('215.43, 320.00\n'), { drawW: 215.43, limitW: 320 });
    assert.deepEqual(parseNvidiaPower('100.5, 200.00\n[N/A], [N/A]\n50.25, 150\n'), { drawW: 150.75, limitW: 350 });
    assert.equal(parseNvidiaPower('[N/A], [N/A]\n'), null);
    const asked: string[][] = [];
    const sensor = nvidiaPowerSensor({
      run: async (_cmd, args) => {
        asked.push([...args]);
        return '287.10, 450.00\n';
      },
    });
    assert.ok(sensor);
    assert.deepEqual(await sensor.read(), { drawW: 287.1, limitW: 450 });
    assert.deepEqual(asked, [['--query-gpu=power.draw,power.limit', '--format=csv,noheader,nounits']]);
    const meter = new PowerMeter({ sensor, gpuName: 'NVIDIA GeForce RTX 4090' });
    assert.deepEqual(await meter.read(0.5), { milliwatts: 287_100, source: 'nvidia-smi' });
    const failing = nvidiaPowerSensor({ run: async () => Promise.reject(new Error('NVIDIA-SMI has failed')) });
    assert.equal(await failing!.read(), null, 'a failing tool reads as nothing');
  });

  it('reads amdgpu’s hwmon power1_average (µW) and power1_cap from a /sys tree', async () => {
    const sys = mkdtempSync(join(tmpdir(), 'power-sys-'));
    dirs.push(sys);
    const hw = join(sys, 'class/drm/card0/device/hwmon/hwmon3');
    mkdirSync(hw, { recursive: true });
    writeFileSync(join(hw, 'power1_average'), '183000000\n');
    writeFileSync(join(hw, 'power1_cap'), '263000000\n');
    mkdirSync(join(sys, 'class/drm/card0-DP-1'), { recursive: true }); // a connector, not a card
    mkdirSync(join(sys, 'class/drm/card1/device/hwmon/hwmon4'), { recursive: true }); // an iGPU with no power file
    const sensor = hwmonPowerSensor(sys);
    assert.ok(sensor);
    assert.equal(sensor.name, 'hwmon');
    assert.deepEqual(await sensor.read(), { drawW: 183, limitW: 263 });
    const meter = new PowerMeter({ sensor, gpuName: 'AMD Radeon RX 7800 XT' });
    assert.deepEqual(await meter.read(1), { milliwatts: 183_000, source: 'hwmon' });

    const empty = mkdtempSync(join(tmpdir(), 'power-sys-'));
    dirs.push(empty);
    assert.equal(hwmonPowerSensor(empty), null, 'no card with a power file: no sensor');
  });

  it('estimates from the board’s power and the duty cycle where nothing reads it, and says so', async () => {
    assert.equal(boardPowerOf('NVIDIA GeForce RTX 3080').watts, 320);
    assert.equal(boardPowerOf('Some Future GPU').watts, UNKNOWN_BOARD_W);
    assert.equal(boardPowerOf('Some Future GPU', 275).watts, 275, 'a limit a sensor read wins');
    const e = estimatePower(boardPowerOf('NVIDIA GeForce RTX 3080'), 0.75);
    assert.equal(e.milliwatts, 240_000);
    assert.equal(e.source, 'estimate');
    assert.match(e.basis ?? '', /estimated from NVIDIA GeForce RTX 3080's typical board power, 320 W at 75 % of the time/);
    const meter = new PowerMeter({ sensor: null, gpuName: 'NVIDIA GeForce RTX 3080' });
    assert.deepEqual(await meter.read(0.5), { ...estimatePower(boardPowerOf('NVIDIA GeForce RTX 3080'), 0.5) });
    // A sensor that gives the limit only (draw [N/A]): the estimate uses that limit.
    const limitOnly = new PowerMeter({ sensor: nvidiaPowerSensor({ run: async () => '[N/A], 200.00\n' }), gpuName: 'x' });
    assert.equal((await limitOnly.read(0.5)).milliwatts, 100_000);
  });
});
