/**
 * How the wallet's keystore password is protected. Two ways, behind small interfaces:
 * - an OS secret store (Electron's safeStorage in the desktop shell): the password is random and
 *   only the OS can unwrap it; a store that is not really secret (safeStorage's `basic_text`
 *   backend on Linux without a keyring) is refused, and a passphrase is asked instead;
 * - a passphrase the user gives (headless): IDLEFORGE_PASSPHRASE, a file, or a prompt.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { privateFileProblem } from '../../lib/private-file.js';
import { MIN_PASSPHRASE } from '../../protocol/desktop.js';

/** Shaped like Electron's safeStorage. */
export interface SecretStore {
  readonly name: string;
  /** False where the "encryption" is not backed by a real OS secret (basic_text). */
  isSecure(): boolean;
  encrypt(plain: string): Buffer;
  decrypt(data: Buffer): string;
}

export interface PassphraseSource {
  /** `new`: choosing one (ask twice); `unlock`: opening an existing wallet. */
  get(purpose: 'new' | 'unlock'): Promise<string>;
}

export class PassphraseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PassphraseError';
  }
}

export { MIN_PASSPHRASE };

export interface HeadlessPassphraseOptions {
  env?: NodeJS.ProcessEnv;
  /** A file holding the passphrase (first line); must not be readable by others. */
  file?: string;
  /** Ask on the terminal when nothing else gives one. */
  interactive?: boolean;
}

/** Headless passphrase: the environment, then a file, then a prompt on the terminal. */
export function headlessPassphrase(o: HeadlessPassphraseOptions = {}): PassphraseSource {
  const env = o.env ?? process.env;
  return {
    async get(purpose) {
      const fromEnv = env.IDLEFORGE_PASSPHRASE;
      if (fromEnv) return check(fromEnv, 'IDLEFORGE_PASSPHRASE');
      const file = o.file ?? env.IDLEFORGE_PASSPHRASE_FILE;
      if (file) {
        const problem = privateFileProblem(file);
        if (problem) throw new PassphraseError(problem);
        return check(readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '', file);
      }
      if (!(o.interactive ?? process.stdin.isTTY)) {
        throw new PassphraseError(
          'this worker’s wallet is protected by a passphrase: set IDLEFORGE_PASSPHRASE, or IDLEFORGE_PASSPHRASE_FILE to a file holding it, or run it in a terminal to type it',
        );
      }
      const first = await prompt(purpose === 'new' ? 'Choose a passphrase to protect this worker’s wallet: ' : 'Wallet passphrase: ');
      if (purpose === 'new') {
        check(first, 'the passphrase');
        if ((await prompt('Type it again: ')) !== first) throw new PassphraseError('the two passphrases differ; nothing was created');
      }
      return first;
    },
  };
}

function check(passphrase: string, where: string): string {
  if (passphrase.length < MIN_PASSPHRASE) throw new PassphraseError(`${where}: a passphrase needs at least ${MIN_PASSPHRASE} characters`);
  return passphrase;
}

/** Reads a line from the terminal without echoing it. */
function prompt(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const write = (rl as unknown as { _writeToOutput?: (s: string) => void })._writeToOutput;
    let asked = false;
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (!asked) {
        asked = true;
        write?.call(rl, s);
      }
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
