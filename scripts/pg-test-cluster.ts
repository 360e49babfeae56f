// The PostgreSQL cluster of one test run (hub/postgres/testing.ts): scripts/test.mjs starts this
// before Node's test runner, reads the URL line it prints (`url <postgres://…>`), hands the URL to
// the test processes, and closes this one's stdin when they are done: the cluster then stops and
// its folder is deleted (so too if test.mjs dies).
import { createInterface } from 'node:readline';
import { ensureTemplate, startTestCluster } from '../hub/postgres/testing.js';

const started = performance.now();
const cluster = await startTestCluster();
await ensureTemplate(cluster.url);
process.stdout.write(`url ${cluster.url}\n`);
process.stderr.write(`PostgreSQL for the tests (${cluster.source}, ${cluster.rootStrategy === 'none' ? 'as this user' : `root: ${cluster.rootStrategy}`}) ready in ${Math.round(performance.now() - started)} ms\n`);
const input = createInterface({ input: process.stdin });
input.on('line', () => undefined);
await new Promise<void>((resolve) => input.once('close', () => resolve()));
await cluster.stop();
