/**
 * The boundary rule is itself tested: the table's verdicts, the rule through ESLint's RuleTester,
 * and the project's real ESLint config failing on planted violations.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint, RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import plugin, { layerOf, violation } from './index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('layer table', () => {
  it('finds the layer of a path', () => {
    assert.equal(layerOf('worker/engine.ts'), 'worker');
    assert.equal(layerOf('renderer/compute/page.ts'), 'renderer/compute');
    assert.equal(layerOf('renderer/dashboard/App.tsx'), 'renderer');
    assert.equal(layerOf('bench/hub.ts'), 'bench');
    assert.equal(layerOf('bench/app/tray.ts'), 'bench/app');
    assert.equal(layerOf('eslint.config.js'), null);
  });

  const cases: Array<[string, string, boolean]> = [
    ['worker/engine.ts', '../protocol/index.js', true],
    ['worker/engine.ts', '../kernels/types.js', true],
    ['worker/engine.ts', 'node:fs', true],
    ['worker/engine.ts', 'better-sqlite3', true],
    ['worker/engine.ts', 'electron', false],
    ['worker/engine.ts', 'react', false],
    ['worker/engine.ts', '../hub/server.js', false],
    ['worker/engine.ts', '../renderer/dashboard/App.js', false],
    ['hub/server.ts', '../kernels/matmul/index.js', true],
    ['hub/server.ts', '../worker/engine.js', false],
    ['protocol/http.ts', 'zod', true],
    ['protocol/http.ts', 'ethers', false],
    ['protocol/http.ts', 'fs', false],
    ['protocol/http.ts', '../kernels/index.js', false],
    ['kernels/matmul/host.ts', '../gpu.js', true],
    ['kernels/matmul/host.ts', '../../protocol/index.js', false],
    ['kernels/matmul/host.ts', 'node:crypto', false],
    ['renderer/compute/page.ts', '../../kernels/index.js', true],
    ['renderer/dashboard/App.tsx', '../../kernels/index.js', false],
    ['renderer/dashboard/App.tsx', '../../protocol/index.js', true],
    ['renderer/dashboard/App.tsx', 'node:path', false],
    ['renderer/dashboard/App.tsx', 'electron', false],
    ['renderer/dashboard/App.tsx', '../../worker/engine.js', false],
    ['electron/main.ts', 'electron', true],
    ['electron/main.ts', '../worker/engine.js', true],
    ['electron/main.ts', '../hub/server.js', false],
    ['test/e2e.test.ts', '../hub/server.js', true],
    ['bench/hub.ts', '../hub/server.js', true],
    ['bench/hub.ts', '../worker/engine.js', true],
    ['bench/kernels.ts', '../kernels/index.js', true],
    ['bench/hub.ts', '../lib/cli.js', true],
    ['bench/tray.ts', '../cli/desktop.js', true],
    ['bench/tray.ts', '../cli/main.js', false],
    ['bench/tray.ts', 'electron', false],
    ['bench/ui.ts', '../renderer/dashboard/App.js', false],
    ['bench/app/tray.ts', '../../worker/engine.js', false],
    ['bench/app/tray.ts', 'node:fs', false],
    ['electron/main.ts', '../bench/app/tray.js', true],
    ['electron/main.ts', '../bench/hub.js', false],
    ['worker/engine.ts', '../bench/hub.js', false],
    ['hub/server.ts', '../bench/hub-child.js', false],
    ['worker/cli/commands.ts', '../../lib/cli.js', true],
    ['hub/commands.ts', '../lib/cli.js', true],
    ['cli/main.ts', '../bench/commands.js', true],
    ['kernels/matmul/matmul.test.ts', 'node:test', true],
    ['kernels/matmul/matmul.test.ts', '../../worker/compute/webgpu-node.js', true],
  ];
  for (const [from, spec, allowed] of cases) {
    it(`${allowed ? 'allows' : 'refuses'} ${from} → ${spec}`, () => {
      const why = violation(from, spec, root);
      if (allowed) assert.equal(why, null);
      else assert.match(String(why), /may not import|outside/);
    });
  }
});

describe('layering rule (RuleTester)', () => {
  it('reports static, re-export, dynamic and require imports', () => {
    const tester = new RuleTester({ languageOptions: { parser: tseslint.parser, ecmaVersion: 2023, sourceType: 'module' } });
    const filename = join(root, 'worker', 'x.ts');
    tester.run('layering', plugin.rules.layering, {
      valid: [
        { code: "import { z } from 'zod'; import { a } from '../protocol/index.js';", filename, options: [{ root }] },
        { code: "import type { Task } from '../protocol/index.js';", filename, options: [{ root }] },
      ],
      invalid: [
        { code: "import { app } from 'electron';", filename, options: [{ root }], errors: [{ messageId: 'layer' }] },
        { code: "export * from '../hub/server.js';", filename, options: [{ root }], errors: [{ messageId: 'layer' }] },
        { code: "const m = await import('../hub/server.js');", filename, options: [{ root }], errors: [{ messageId: 'layer' }] },
        { code: "const m = await import(name);", filename, options: [{ root }], errors: [{ messageId: 'layer' }] },
        { code: "const r = require('react');", filename, options: [{ root }], errors: [{ messageId: 'layer' }] },
      ],
    });
  });
});

describe("the project's lint config", () => {
  const eslint = new ESLint({ cwd: root });
  const planted: Array<[string, string]> = [
    ['worker/planted.ts', "import { app } from 'electron';\nexport const x = app;\n"],
    ['worker/planted.ts', "import { startHub } from '../hub/server.js';\nexport const x = startHub;\n"],
    ['protocol/planted.ts', "import { Wallet } from 'ethers';\nexport const x = Wallet;\n"],
    ['kernels/planted.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n"],
    ['renderer/dashboard/planted.ts', "import { WorkerEngine } from '../../worker/engine.js';\nexport const x = WorkerEngine;\n"],
    ['hub/planted.ts', "import { HubClient } from '../worker/hub-client.js';\nexport const x = HubClient;\n"],
    ['bench/planted.ts', "import { app } from 'electron';\nexport const x = app;\n"],
    ['bench/app/planted.ts', "import { startHub } from '../../hub/server.js';\nexport const x = startHub;\n"],
    ['electron/planted.ts', "import { runHubBench } from '../bench/hub.js';\nexport const x = runHubBench;\n"],
  ];
  for (const [file, code] of planted) {
    it(`fails on a planted violation in ${file}`, async () => {
      const [result] = await eslint.lintText(code, { filePath: join(root, file) });
      assert.ok(result);
      const layering = result.messages.filter((m) => m.ruleId === 'idleforge/layering');
      assert.equal(layering.length, 1, JSON.stringify(result.messages));
      assert.equal(layering[0]?.severity, 2);
    });
  }

  it('passes the same code where the table allows it', async () => {
    const [result] = await eslint.lintText("import { startHub } from '../hub/server.js';\nexport const x = startHub;\n", {
      filePath: join(root, 'test/planted.ts'),
    });
    assert.deepEqual(result?.messages.filter((m) => m.ruleId === 'idleforge/layering'), []);
  });
});
