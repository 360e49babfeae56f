/**
 * The wallet's passphrase in the desktop app, needed only where the OS has no real secret store
 * (Linux without a keyring) or the wallet was made headless with one: from IDLEFORGE_PASSPHRASE
 * or IDLEFORGE_PASSPHRASE_FILE when set (as headless), otherwise asked in a small window of the
 * app (pages/passphrase), never on a terminal.
 */
import type { BrowserWindow, IpcMain } from 'electron';
import { EmptyMessageSchema as Empty, MIN_PASSPHRASE, PassphraseSubmitSchema } from '../protocol/desktop.js';
import { headlessPassphrase, PassphraseError, type PassphraseSource } from '../worker/wallet/index.js';
import { PASSPHRASE_CHANNELS } from './channels.js';
import { guardedHandler, type IpcSenderEvent } from './ipc-guard.js';

export { PassphraseSubmitSchema };

export type AskPassphrase = (purpose: 'new' | 'unlock', problem: string | null) => Promise<string>;

/** The environment first (as headless), then the window. `problem` says why it is asked again. */
export function desktopPassphrase(o: { env: NodeJS.ProcessEnv; ask: AskPassphrase; problem?: () => string | null }): PassphraseSource {
  return {
    get(purpose) {
      if (o.env.IDLEFORGE_PASSPHRASE || o.env.IDLEFORGE_PASSPHRASE_FILE) return headlessPassphrase({ env: o.env, interactive: false }).get(purpose);
      return o.ask(purpose, o.problem?.() ?? null);
    },
  };
}

export interface PassphraseWindowDeps {
  createWindow(): BrowserWindow;
  ipc: Pick<IpcMain, 'handle' | 'removeHandler'>;
  url: string;
  origin: string;
  log?(line: string): void;
}

/** Opens the passphrase window and resolves with what the user typed; rejects if they close it. */
export function passphraseWindow(deps: PassphraseWindowDeps): AskPassphrase {
  return (purpose, problem) =>
    new Promise<string>((resolve, reject) => {
      const win = deps.createWindow();
      const rule = { webContentsId: () => (win.isDestroyed() ? null : win.webContents.id), origin: deps.origin };
      const onRefused = (why: string): void => deps.log?.(`passphrase window: a message was refused (${why})`);
      let settled = false;
      const finish = (): void => {
        settled = true;
        for (const channel of Object.values(PASSPHRASE_CHANNELS)) deps.ipc.removeHandler(channel);
        if (!win.isDestroyed()) win.destroy();
      };
      const handlers: Record<string, (event: IpcSenderEvent, raw: unknown) => Promise<unknown>> = {
        [PASSPHRASE_CHANNELS.request]: guardedHandler({ rule, schema: Empty, onRefused, handle: () => ({ purpose, problem, minLength: MIN_PASSPHRASE }) }),
        [PASSPHRASE_CHANNELS.submit]: guardedHandler({
          rule,
          schema: PassphraseSubmitSchema,
          onRefused,
          handle: ({ passphrase }) => {
            finish();
            resolve(passphrase);
            return { ok: true };
          },
        }),
        [PASSPHRASE_CHANNELS.cancel]: guardedHandler({
          rule,
          schema: Empty,
          onRefused,
          handle: () => {
            finish();
            reject(new PassphraseError('no passphrase was given: the wallet stays locked'));
            return { ok: true };
          },
        }),
      };
      for (const [channel, handler] of Object.entries(handlers)) deps.ipc.handle(channel, handler);
      win.on('closed', () => {
        if (settled) return;
        finish();
        reject(new PassphraseError('no passphrase was given: the wallet stays locked'));
      });
      win.once('ready-to-show', () => win.show());
      win.loadURL(deps.url).catch((error: unknown) => {
        if (settled) return;
        finish();
        reject(new Error(`the passphrase window did not load: ${error instanceof Error ? error.message : String(error)}`));
      });
    });
}
