/**
 * Rebuilds `IdleforgeToken.json` (ABI + creation bytecode) from `IdleforgeToken.sol` with the
 * solc-js compiler in node_modules: no compiler is ever downloaded. The JSON is committed so
 * the hub and the devnet need no compiler at all; `contracts.test.ts` checks it still matches
 * a fresh compile.
 *
 *   node --import tsx hub/contracts/build.ts          rewrite the artifact
 *   node --import tsx hub/contracts/build.ts --check  exit 1 if the artifact is out of date
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { TOKEN_ARTIFACT_PATH, TOKEN_CONTRACT, TOKEN_SOURCE_PATH, type TokenArtifact } from './artifact.js';

/** Fixed settings: the artifact is a pure function of the source and these. */
export const COMPILER_SETTINGS = { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun' } as const;

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

interface Solc {
  version(): string;
  compile(input: string): string;
}

export function compileToken(): TokenArtifact {
  // solc-js is a dev dependency: loaded only here, never by the hub at run time.
  const solc = createRequire(import.meta.url)('solc') as Solc;
  const sourceName = `${TOKEN_CONTRACT}.sol`;
  const input = {
    language: 'Solidity',
    sources: { [sourceName]: { content: readFileSync(TOKEN_SOURCE_PATH, 'utf8') } },
    settings: { ...COMPILER_SETTINGS, outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const contract = output.contracts?.[sourceName]?.[TOKEN_CONTRACT];
  if (!contract) throw new Error(`solc produced no ${TOKEN_CONTRACT}`);
  return {
    contractName: TOKEN_CONTRACT,
    sourceName,
    compiler: { name: 'solc-js', version: solc.version(), settings: COMPILER_SETTINGS },
    abi: contract.abi,
    bytecode: `0x${contract.evm.bytecode.object}`,
  };
}

export const formatArtifact = (artifact: TokenArtifact): string => `${JSON.stringify(artifact, null, 2)}\n`;

function main(argv: string[]): number {
  const fresh = formatArtifact(compileToken());
  if (argv.includes('--check')) {
    const committed = readFileSync(TOKEN_ARTIFACT_PATH, 'utf8');
    if (committed !== fresh) {
      process.stderr.write(`${TOKEN_ARTIFACT_PATH} is out of date: run node --import tsx hub/contracts/build.ts\n`);
      return 1;
    }
    process.stdout.write('the token artifact matches a fresh compile\n');
    return 0;
  }
  writeFileSync(TOKEN_ARTIFACT_PATH, fresh);
  process.stdout.write(`wrote ${TOKEN_ARTIFACT_PATH}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exit(main(process.argv.slice(2)));
