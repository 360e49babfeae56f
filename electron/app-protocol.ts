/**
 * The app's own scheme, `idleforge://<page>/<file>`: every page the app shows is a file of its
 * bundle (pages/<page>/…), served with the page's Content-Security-Policy. Nothing outside a page's
 * folder can be named (no `..`, no absolute paths, no other hosts), and only known file types are
 * served.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, posix, sep } from 'node:path';
import { APP_SCHEME, CSP, PAGE_KINDS, type PageKind } from './security.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

export interface PageFile {
  kind: PageKind;
  path: string;
  contentType: string;
  /** A build output whose name carries its content hash (assets/name-HASH.ext): it never changes. */
  immutable: boolean;
}

/** esbuild's `[name]-[hash]` names under assets/. */
const HASHED = /^assets\/[^/]+-[A-Z0-9]{8}\.[a-z0-9]+$/;

/** The file an `idleforge://` URL names, or null when it names nothing the app serves. */
export function resolvePageFile(url: string, pagesDir: string): PageFile | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== `${APP_SCHEME}:`) return null;
  const kind = PAGE_KINDS.find((k) => k === u.host);
  if (!kind) return null;
  let name: string;
  try {
    name = decodeURIComponent(u.pathname);
  } catch {
    return null;
  }
  if (name.includes('\0') || name.includes('\\')) return null;
  const rel = posix.normalize(name === '/' || name === '' ? '/index.html' : name).replace(/^\/+/, '');
  if (rel === '' || rel.startsWith('..')) return null;
  const contentType = TYPES[extname(rel).toLowerCase()];
  if (!contentType) return null;
  const root = join(pagesDir, kind);
  const path = join(root, ...rel.split('/'));
  if (!path.startsWith(root + sep)) return null;
  return { kind, path, contentType, immutable: HASHED.test(rel) };
}

/** The response to a request on the app's scheme (protocol.handle calls this). */
export async function pageResponse(url: string, pagesDir: string): Promise<Response> {
  const file = resolvePageFile(url, pagesDir);
  if (!file) return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  let body: Buffer;
  try {
    body = await readFile(file.path);
  } catch {
    return new Response('not found', { status: 404, headers: { 'content-type': 'text/plain' } });
  }
  return new Response(new Uint8Array(body), {
    status: 200,
    headers: {
      'content-type': file.contentType,
      'content-security-policy': CSP[file.kind],
      'x-content-type-options': 'nosniff',
      // A hashed file may be cached for good: that is what lets Chromium keep V8's compiled code
      // for the dashboard's scripts (the scheme has the codeCache privilege), so a window opened
      // again does not compile 440 kB of script from scratch. Anything else is read afresh.
      'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-store',
    },
  });
}
