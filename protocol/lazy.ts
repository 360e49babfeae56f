/**
 * A value built on its first use. `lazy(() => z.object({ … }))` is, to whoever holds it, the
 * schema itself: a Proxy that builds it the first time anything about it is asked (a parse, a
 * method, a property) and forwards everything to it from then on. What it validates is what the
 * builder builds: nothing is checked less, only later.
 *
 * Why: zod builds a schema when its module loads, and the dashboard loads every schema of the
 * engine's API (about 300 of them, its largest single cost after React on a cold start) to show a
 * first page that parses three answers. The dashboard's build (scripts/lazy-schemas.mjs) wraps the
 * schemas of protocol/ in `lazy` for the dashboard only; the worker and the hub build them at once,
 * as written.
 *
 * Only for objects (schemas, shapes of schemas): the Proxy stands in for an object it has not
 * built yet, so a builder that returns anything else (an array, a function, a primitive) throws
 * when it is first used, in words.
 */

let made = 0;
let built = 0;

/** How many lazy values were made, and how many of them have been built (for tests and benches). */
export function lazyCounts(): { made: number; built: number } {
  return { made, built };
}

export function lazy<T extends object>(build: () => T, name = 'a lazy value'): T {
  made++;
  let value: T | undefined;
  const real = (): T => {
    if (value === undefined) {
      const v = build();
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`${name} must build a plain object (a schema or a shape), not ${Array.isArray(v) ? 'an array' : typeof v}`);
      value = v;
      built++;
    }
    return value;
  };
  // The Proxy's own target stays an empty object; a non-configurable property of the built value
  // is copied onto it when reported, as the Proxy's invariants require.
  const stand: object = {};
  const mirror = (key: string | symbol, d: PropertyDescriptor | undefined): PropertyDescriptor | undefined => {
    if (d && !d.configurable && !Object.prototype.hasOwnProperty.call(stand, key)) Object.defineProperty(stand, key, d);
    return d;
  };
  return new Proxy(stand, {
    get: (_, key) => Reflect.get(real(), key),
    set: (_, key, v) => Reflect.set(real(), key, v),
    has: (_, key) => Reflect.has(real(), key),
    ownKeys: () => {
      const keys = Reflect.ownKeys(real());
      for (const k of keys) mirror(k, Reflect.getOwnPropertyDescriptor(real(), k));
      return keys;
    },
    getOwnPropertyDescriptor: (_, key) => mirror(key, Reflect.getOwnPropertyDescriptor(real(), key)),
    defineProperty: (_, key, d) => Reflect.defineProperty(real(), key, d) && (d.configurable !== false || mirror(key, Reflect.getOwnPropertyDescriptor(real(), key)) !== undefined),
    deleteProperty: (_, key) => Reflect.deleteProperty(real(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(real()),
  }) as T;
}
