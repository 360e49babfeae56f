/**
 * The desktop app's security policy, in one place: the pages it loads (all from its own
 * `idleforge://` scheme, never from the network), their Content-Security-Policy, the
 * webPreferences every window gets, and the answers to navigation, new windows and permission
 * requests. windows.ts applies it to every window; app-protocol.ts sends the CSP with each page.
 */
import type { WebPreferences } from 'electron';
import { originOf } from './ipc-guard.js';

export const APP_SCHEME = 'idleforge';
export const PAGE_KINDS = ['dashboard', 'compute', 'passphrase'] as const;
export type PageKind = (typeof PAGE_KINDS)[number];

export const pageOrigin = (kind: PageKind): string => `${APP_SCHEME}://${kind}`;
export const pageUrl = (kind: PageKind): string => `${pageOrigin(kind)}/index.html`;

/** Directives every page shares: nothing loads from anywhere but the page's own origin. */
const BASE = ["default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'", "object-src 'none'"];

/**
 * No inline script or style anywhere, no eval, no network: the dashboard talks to the engine
 * over its preload's bridge, the compute page over its own; both load only their own files.
 */
export const CSP: Record<PageKind, string> = {
  dashboard: [...BASE, "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'", "connect-src 'self'"].join('; '),
  compute: [...BASE, "script-src 'self'"].join('; '),
  passphrase: [...BASE, "script-src 'self'", "style-src 'self'"].join('; '),
};

/** The same policy for a page's <meta> tag, which cannot carry frame-ancestors (the header does). */
export const metaCsp = (kind: PageKind): string =>
  CSP[kind]
    .split('; ')
    .filter((d) => !d.startsWith('frame-ancestors'))
    .join('; ');

/** The preload each page gets (bundled beside main as preload/<kind>.cjs). */
export const PRELOAD_FILE: Record<PageKind, string> = {
  dashboard: 'preload/dashboard.cjs',
  compute: 'preload/compute.cjs',
  passphrase: 'preload/passphrase.cjs',
};

/** Every window's webPreferences: sandboxed, isolated, no Node, nothing experimental. */
export function webPreferencesFor(kind: PageKind, preload: string, o: { devTools: boolean }): WebPreferences {
  return {
    preload,
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
    enableWebSQL: false,
    // The compute page must not be slowed while hidden: it is always hidden.
    backgroundThrottling: kind !== 'compute',
    disableDialogs: kind === 'compute',
    devTools: o.devTools,
  };
}

/** Navigation is allowed only within the page's own origin (an SPA's own routes). */
export function navigationAllowed(kind: PageKind, url: string): boolean {
  return originOf(url) === pageOrigin(kind);
}

/** Permissions a page may get: only the dashboard's "copy address" (clipboard write). */
export function permissionAllowed(permission: string, requestingUrl: string): boolean {
  return permission === 'clipboard-sanitized-write' && originOf(requestingUrl) === pageOrigin('dashboard');
}

/** What every `will-navigate` / `will-redirect` / `will-frame-navigate` listener does. */
export function guardNavigation(kind: PageKind, onDenied?: (url: string) => void): (event: { preventDefault(): void }, url: string) => void {
  return (event, url) => {
    if (navigationAllowed(kind, url)) return;
    event.preventDefault();
    onDenied?.(url);
  };
}

/** setWindowOpenHandler: no page may open a window. */
export const denyWindowOpen = (): { action: 'deny' } => ({ action: 'deny' });
