#!/usr/bin/env node
// The `idleforge` command. Loads the TypeScript sources through tsx, then hands over to cli/.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../cli/main.ts');
const code = await run(process.argv.slice(2));
// Dawn and open handles may keep the event loop alive; the command's work is done.
process.exit(code);
