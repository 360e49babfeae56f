// ESLint plugin holding the project's own rules. `layering` enforces docs/DESIGN.md's table of
// which folder may import which (tools/eslint-plugin-idleforge/layers.js).
import { builtinModules } from 'node:module';
import path from 'node:path';
import { LAYERS, UNRESTRICTED } from './layers.js';

const BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));

/** The layer a repo-relative path belongs to (longest folder prefix wins), or null. */
export function layerOf(relPath) {
  const parts = relPath.split(/[\\/]/);
  if (parts.length < 2) return null; // files at the root: config
  const two = `${parts[0]}/${parts[1]}`;
  if (LAYERS[two]) return two;
  if (LAYERS[parts[0]]) return parts[0];
  return null;
}

function packageName(spec) {
  if (spec.startsWith('@')) return spec.split('/').slice(0, 2).join('/');
  return spec.split('/')[0];
}

/**
 * Why `spec`, imported from repo-relative `fromRel`, breaks the table; null when allowed.
 * Exported for the rule's own tests.
 */
export function violation(fromRel, spec, root) {
  const layerName = layerOf(fromRel);
  if (!layerName || isUnrestricted(fromRel)) return null;
  const layer = LAYERS[layerName];
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const target = path.relative(root, path.resolve(root, path.dirname(fromRel), spec)).split(path.sep).join('/');
    if (target.startsWith('..')) return `${fromRel} imports ${spec}, outside the project`;
    const targetLayer = layerOf(target) ?? target.split('/')[0];
    const ok = layer.folders.some((f) => targetLayer === f || targetLayer.startsWith(`${f}/`)) || (layer.modules ?? []).includes(target.replace(/\.[cm]?[jt]sx?$/, ''));
    return ok ? null : `${layerName}/ may not import ${targetLayer}/ (${layer.note})`;
  }
  const bare = spec.startsWith('node:') ? spec.slice(5) : spec;
  if (spec.startsWith('node:') || BUILTINS.has(packageName(bare))) {
    return layer.node ? null : `${layerName}/ may not import the Node built-in ${spec} (${layer.note})`;
  }
  const pkg = packageName(spec);
  if (layer.forbidPackages?.includes(pkg)) return `${layerName}/ may not import ${pkg} (${layer.note})`;
  if (layer.packages !== 'any' && !layer.packages.includes(pkg)) return `${layerName}/ may not import ${pkg} (${layer.note})`;
  return null;
}

/** Tests (test/ and any *.test.ts beside its code), tools and scripts may import anything. */
export function isUnrestricted(relPath) {
  return UNRESTRICTED.includes(relPath.split(/[\\/]/)[0]) || /\.test\.[cm]?[jt]sx?$/.test(relPath);
}

/** @type {import('eslint').Rule.RuleModule} */
const layering = {
  meta: {
    type: 'problem',
    docs: { description: 'enforce the folder import table of docs/DESIGN.md' },
    schema: [{ type: 'object', properties: { root: { type: 'string' } }, additionalProperties: false }],
    messages: { layer: '{{why}}' },
  },
  create(context) {
    const root = context.options[0]?.root ?? context.cwd;
    const fromRel = path.relative(root, context.filename).split(path.sep).join('/');
    if (fromRel.startsWith('..')) return {};
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string') return;
      const why = violation(fromRel, source.value, root);
      if (why) context.report({ node: source, messageId: 'layer', data: { why } });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => {
        if (node.source.type === 'Literal') check(node, node.source);
        else if (layerOf(fromRel) && !isUnrestricted(fromRel)) {
          context.report({ node, messageId: 'layer', data: { why: 'import() with a computed path cannot be checked against the layer table' } });
        }
      },
      TSImportEqualsDeclaration: (node) => {
        if (node.moduleReference.type === 'TSExternalModuleReference') check(node, node.moduleReference.expression);
      },
      CallExpression: (node) => {
        if (node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments[0]?.type === 'Literal') {
          check(node, node.arguments[0]);
        }
      },
    };
  },
};

export default { meta: { name: 'eslint-plugin-idleforge' }, rules: { layering } };
