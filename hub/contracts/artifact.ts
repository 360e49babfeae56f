/**
 * The compiled Idleforge token, as committed beside its source (`IdleforgeToken.json`, rebuilt
 * by `build.ts`). The hub deploys (devnet) and calls it with ethers; nothing here needs solc.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
// Imported (not read from disk) so that a build to dist/ carries the JSON along.
import committed from './IdleforgeToken.json' with { type: 'json' };

export const TOKEN_CONTRACT = 'IdleforgeToken';
export const TOKEN_SOURCE_PATH = fileURLToPath(new URL('./IdleforgeToken.sol', import.meta.url));
export const TOKEN_ARTIFACT_PATH = fileURLToPath(new URL('./IdleforgeToken.json', import.meta.url));

export const TokenArtifactSchema = z.object({
  contractName: z.literal(TOKEN_CONTRACT),
  sourceName: z.string(),
  compiler: z.object({ name: z.string(), version: z.string(), settings: z.record(z.string(), z.unknown()) }),
  abi: z.array(z.unknown()).min(1),
  bytecode: z.string().regex(/^0x([0-9a-f]{2})+$/),
});
export type TokenArtifact = z.infer<typeof TokenArtifactSchema>;

let cached: TokenArtifact | null = null;

/** The committed artifact, checked with its schema (read once). */
export function tokenArtifact(): TokenArtifact {
  cached ??= TokenArtifactSchema.parse(committed);
  return cached;
}
