// The dashboard's schemas built on first use (protocol/lazy.ts says why). An esbuild plugin for
// the dashboard's build only: in each module of protocol/, the value of every top-level `const`
// that builds a schema (a call that names zod's `z`, or a method of a `…Schema`) is wrapped in
// `lazy(() => …)`; an object literal (a table of schemas such as ENGINE_API, a shape) is kept and
// each of its values is looked at the same way, so that `Object.keys(ENGINE_API)` builds nothing
// and each method's schemas are built when that method is first called. The source text is
// otherwise left as it is: what each schema validates does not change.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const PROTOCOL_DIR = join(ROOT, 'protocol');
const LAZY_MODULE = join(PROTOCOL_DIR, 'lazy.ts');
const LAZY = '__idleforgeLazy';

const unwrap = (node) => {
  while (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isTypeAssertionExpression(node)) node = node.expression;
  return node;
};

/** The identifier a chain of calls and property reads starts from (`z` of `z.object(…).strict()`). */
function rootName(node) {
  for (;;) {
    node = unwrap(node);
    if (ts.isCallExpression(node) || ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) node = node.expression;
    else return ts.isIdentifier(node) ? node.text : null;
  }
}

function namesZ(node) {
  let found = false;
  const visit = (n) => {
    if (found) return;
    if (ts.isIdentifier(n) && n.text === 'z') found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** A call that builds a schema: it names `z`, or it is a method of a `…Schema` (`XSchema.extend(…)`). */
function buildsSchema(node) {
  const e = unwrap(node);
  if (!ts.isCallExpression(e)) return false;
  const root = rootName(e);
  return namesZ(e) || (root !== null && /Schema$/.test(root) && ts.isPropertyAccessExpression(unwrap(e.expression)));
}

/**
 * Returns the source with the schemas of its top-level constants wrapped in the lazy builder, and
 * how many were wrapped. `lazyModule`: the path the added import names.
 */
export function lazySchemas(source, fileName, lazyModule = LAZY_MODULE) {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const edits = [];
  const wrap = (expr, name) => {
    const e = unwrap(expr);
    if (ts.isObjectLiteralExpression(e)) {
      for (const p of e.properties) if (ts.isPropertyAssignment(p)) wrap(p.initializer, `${name}.${p.name.getText(file)}`);
    } else if (buildsSchema(e)) {
      edits.push({ start: expr.getStart(file), end: expr.getEnd(), name });
    }
  };
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement) || !(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
    for (const d of statement.declarationList.declarations) if (d.initializer && ts.isIdentifier(d.name)) wrap(d.initializer, d.name.text);
  }
  if (edits.length === 0) return { code: source, wrapped: 0 };
  let code = source;
  for (const { start, end, name } of edits.sort((a, b) => b.start - a.start)) {
    code = `${code.slice(0, start)}${LAZY}(() => (${code.slice(start, end)}), ${JSON.stringify(name)})${code.slice(end)}`;
  }
  return { code: `import { lazy as ${LAZY} } from ${JSON.stringify(lazyModule)};\n${code}`, wrapped: edits.length };
}

/** The esbuild plugin: every protocol/ module but lazy.ts itself and tests goes through lazySchemas. */
export const lazySchemasPlugin = {
  name: 'lazy-schemas',
  setup(b) {
    b.onLoad({ filter: /[\\/]protocol[\\/].*\.ts$/ }, (args) => {
      if (!args.path.startsWith(PROTOCOL_DIR) || args.path === LAZY_MODULE || args.path.endsWith('.test.ts')) return undefined;
      const { code } = lazySchemas(readFileSync(args.path, 'utf8'), args.path);
      return { contents: code, loader: 'ts', resolveDir: dirname(args.path) };
    });
  },
};
