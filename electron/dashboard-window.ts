/**
 * The dashboard window's life: opened from the tray (or a second launch), and on close hidden to
 * the tray, not quit. A hidden dashboard is destroyed after `keepHiddenMs`, so an idle tray does
 * not keep a renderer's memory; opening it again within that time is instant.
 */
import type { BrowserWindow } from 'electron';

export interface DashboardWindowDeps {
  /** A window from the hardened factory, not loaded yet. */
  create(): BrowserWindow;
  url: string;
  /** True once the app is quitting: closing then really closes. */
  quitting(): boolean;
  /** Called for each new window (the engine's events are forwarded to it). */
  onCreated?(win: BrowserWindow): void;
  keepHiddenMs?: number;
  later?(fn: () => void, ms: number): () => void;
  log?(line: string): void;
}

const defaultLater = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return () => clearTimeout(t);
};

export class DashboardWindow {
  private win: BrowserWindow | null = null;
  private cancelDestroy: (() => void) | null = null;

  constructor(private readonly deps: DashboardWindowDeps) {}

  get window(): BrowserWindow | null {
    return this.win && !this.win.isDestroyed() ? this.win : null;
  }

  visible(): boolean {
    return this.window?.isVisible() ?? false;
  }

  open(): void {
    this.cancelDestroy?.();
    this.cancelDestroy = null;
    const existing = this.window;
    if (existing) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return;
    }
    const win = this.deps.create();
    this.win = win;
    win.once('ready-to-show', () => {
      win.show();
      win.focus();
    });
    win.on('close', (event) => {
      if (this.deps.quitting()) return;
      event.preventDefault();
      this.hide();
    });
    win.on('closed', () => {
      if (this.win === win) this.win = null;
    });
    this.deps.onCreated?.(win);
    win.loadURL(this.deps.url).catch((error: unknown) => this.deps.log?.(`the dashboard did not load: ${error instanceof Error ? error.message : String(error)}`));
  }

  /** Hides to the tray; the window goes after keepHiddenMs unless opened again. */
  hide(): void {
    const win = this.window;
    if (!win) return;
    win.hide();
    this.cancelDestroy?.();
    this.cancelDestroy = (this.deps.later ?? defaultLater)(() => {
      this.cancelDestroy = null;
      if (this.window === win && !win.isVisible()) win.destroy();
    }, this.deps.keepHiddenMs ?? 60_000);
  }

  destroy(): void {
    this.cancelDestroy?.();
    const win = this.window;
    if (win) win.destroy();
    this.win = null;
  }
}
