import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { lazy, lazyCounts } from './lazy.js';

test('a lazy schema is built on its first use, once, and validates as the schema itself', () => {
  let builds = 0;
  const before = lazyCounts();
  const Schema = lazy(() => {
    builds++;
    return z.object({ name: z.string().min(1), count: z.number().int() }).strict();
  });
  assert.equal(builds, 0);
  assert.equal(lazyCounts().made, before.made + 1);
  assert.equal(lazyCounts().built, before.built);
  assert.deepEqual(Schema.parse({ name: 'a', count: 2 }), { name: 'a', count: 2 });
  assert.equal(builds, 1);
  assert.equal(lazyCounts().built, before.built + 1);
  for (const bad of [{}, { name: '', count: 1 }, { name: 'a', count: 1.5 }, { name: 'a', count: 1, extra: true }, null, 'x']) {
    assert.equal(Schema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  assert.throws(() => Schema.parse({ name: 'a' }), z.ZodError);
  assert.equal(builds, 1);
});

test('a lazy schema works wherever its schema would: child, extend, shape spread, unions, instanceof', () => {
  const Inner = lazy(() => z.object({ id: z.string() }));
  const Shape = lazy(() => ({ at: z.string().datetime(), id: z.string() }));
  const Outer = lazy(() => z.object({ inner: Inner.nullable(), list: z.array(Inner) }));
  const Extended = lazy(() => Inner.extend({ extra: z.boolean() }));
  const Spread = z.object({ ...Shape, more: z.number() });
  const Union = z.discriminatedUnion('kind', [lazy(() => z.object({ kind: z.literal('a') })), lazy(() => z.object({ kind: z.literal('b'), n: z.number() }))]);
  assert.ok(Inner instanceof z.ZodObject);
  assert.ok(Outer.safeParse({ inner: null, list: [{ id: 'x' }] }).success);
  assert.equal(Outer.safeParse({ inner: { id: 1 }, list: [] }).success, false);
  assert.ok(Extended.safeParse({ id: 'x', extra: true }).success);
  assert.equal(Extended.safeParse({ id: 'x' }).success, false);
  assert.deepEqual(Object.keys(Extended.shape).sort(), ['extra', 'id']);
  assert.ok(Spread.safeParse({ at: '2026-01-01T00:00:00Z', id: 'x', more: 1 }).success);
  assert.equal(Spread.safeParse({ at: 'yesterday', id: 'x', more: 1 }).success, false);
  assert.ok(Union.safeParse({ kind: 'b', n: 1 }).success);
  assert.equal(Union.safeParse({ kind: 'b' }).success, false);
  assert.equal(Union.safeParse({ kind: 'c' }).success, false);
});

test('a lazy value that builds no object says so when first used', () => {
  const list = lazy(() => [z.string()] as unknown as object, 'LIST');
  assert.throws(() => Object.keys(list), /LIST must build a plain object/);
});
