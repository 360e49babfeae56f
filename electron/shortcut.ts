/**
 * The global shortcut that pauses and resumes work from anywhere, even inside a fullscreen game
 * (settings `pauseShortcut`, default Control+Alt+P). Registered with Electron's globalShortcut
 * (main.ts passes it in as `GlobalShortcutLike`); re-registered when the setting changes. A
 * shortcut another program holds cannot be registered: the app says so instead of failing quietly.
 */
export interface GlobalShortcutLike {
  register(accelerator: string, callback: () => void): boolean;
  unregister(accelerator: string): void;
}

export interface PauseShortcutOptions {
  shortcuts: GlobalShortcutLike;
  /** Pauses when work may run, resumes when paused by the user. */
  toggle(): void;
  /** Tells the user something about the shortcut (a notice, a log line). */
  tell(message: string): void;
}

export class PauseShortcut {
  private current = '';

  constructor(private readonly o: PauseShortcutOptions) {}

  /** The accelerator registered now ('' for none). */
  get registered(): string {
    return this.current;
  }

  /** Registers `accelerator` in place of the one before ('' turns the shortcut off). */
  apply(accelerator: string): void {
    if (accelerator === this.current) return;
    this.clear();
    if (accelerator === '') return;
    let ok = false;
    try {
      ok = this.o.shortcuts.register(accelerator, () => this.o.toggle());
    } catch {
      ok = false;
    }
    if (ok) this.current = accelerator;
    else this.o.tell(`The shortcut ${accelerator} is taken by another program; choose another in Settings to pause and resume from anywhere.`);
  }

  clear(): void {
    if (this.current !== '') this.o.shortcuts.unregister(this.current);
    this.current = '';
  }
}
