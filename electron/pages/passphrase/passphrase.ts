/**
 * The passphrase window's page: asks for the wallet's passphrase (twice when choosing one),
 * checks what it can here (length, both the same) and hands it to main through the preload.
 */
import { PASSPHRASE_BRIDGE_GLOBAL } from '../../channels.js';

type Answer<T> = { ok: true; result: T } | { ok: false; error: { code: string; message: string } };
interface Bridge {
  request(): Promise<Answer<{ purpose: 'new' | 'unlock'; problem: string | null; minLength: number }>>;
  submit(passphrase: string): Promise<Answer<{ ok: true }>>;
  cancel(): Promise<unknown>;
}

const bridge = (globalThis as unknown as Record<string, Bridge | undefined>)[PASSPHRASE_BRIDGE_GLOBAL];
const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing`);
  return el as T;
};

async function start(): Promise<void> {
  const intro = $('intro');
  if (!bridge) {
    intro.textContent = 'This window cannot reach the app. Close it and start Idleforge again.';
    return;
  }
  const asked = await bridge.request();
  if (!asked.ok) {
    intro.textContent = asked.error.message;
    return;
  }
  const { purpose, problem, minLength } = asked.result;
  const choosing = purpose === 'new';
  $('title').textContent = choosing ? 'Choose a wallet passphrase' : 'Unlock your wallet';
  intro.textContent = choosing
    ? `This computer has no system key store, so your wallet is protected by a passphrase. Choose one of at least ${minLength} characters; you need it each time Idleforge starts.`
    : 'Type the passphrase that protects this worker’s wallet.';
  $('again-row').hidden = !choosing;
  $('ok').textContent = choosing ? 'Create wallet' : 'Unlock';
  const form = $<HTMLFormElement>('form');
  const first = $<HTMLInputElement>('first');
  const again = $<HTMLInputElement>('again');
  const shown = $('problem');
  shown.textContent = problem ?? '';
  form.hidden = false;
  first.focus();
  $('cancel').addEventListener('click', () => void bridge.cancel());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (first.value.length < minLength) {
      shown.textContent = `A passphrase needs at least ${minLength} characters.`;
      return;
    }
    if (choosing && again.value !== first.value) {
      shown.textContent = 'The two passphrases differ.';
      return;
    }
    $<HTMLButtonElement>('ok').disabled = true;
    void bridge.submit(first.value).then((answer) => {
      if (answer.ok) return;
      shown.textContent = answer.error.message;
      $<HTMLButtonElement>('ok').disabled = false;
    });
  });
}

void start();
