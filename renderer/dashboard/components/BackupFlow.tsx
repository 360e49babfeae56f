/**
 * Backing up the recovery phrase: an explicit, confirmed reveal; then three of its words typed
 * back, which marks the wallet backed up. The phrase lives only in this component while shown.
 */
import { useState, type FormEvent } from 'react';
import { useActions } from '../context.js';
import { messageOf } from '../store.js';
import { Icon } from './Icon.js';

type Step = { name: 'intro' } | { name: 'phrase'; words: string[] } | { name: 'check'; positions: number[] };

export function BackupFlow() {
  const actions = useActions();
  const [step, setStep] = useState<Step>({ name: 'intro' });
  const [alone, setAlone] = useState(false);
  const [answers, setAnswers] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const guard = async (fn: () => Promise<void>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const check = (e: FormEvent): void => {
    e.preventDefault();
    void guard(async () => {
      const ok = await actions.confirmBackup(answers);
      if (!ok) setError('Some words do not match. Look at your paper again, or show the phrase once more.');
    });
  };

  return (
    <div className="backup">
      {step.name === 'intro' ? (
        <>
          <p>
            Your recovery phrase is the only way to get this wallet back if this computer is lost. Write its 12 words on paper, in order, and keep it offline.
          </p>
          <label className="check">
            <input type="checkbox" checked={alone} onChange={(e) => setAlone(e.target.checked)} />
            <span>Nobody can see my screen, and I am not streaming or recording it.</span>
          </label>
          <button
            type="button"
            className="btn btn-primary"
            disabled={!alone || busy}
            onClick={() => void guard(async () => setStep({ name: 'phrase', words: (await actions.revealPhrase()).split(' ') }))}
          >
            <Icon name="eye" size={18} /> Show my recovery phrase
          </button>
        </>
      ) : step.name === 'phrase' ? (
        <>
          <ol className="phrase" aria-label="Recovery phrase">
            {step.words.map((w, i) => (
              <li key={i}>
                <span className="phrase-n">{i + 1}</span>
                <span className="phrase-w">{w}</span>
              </li>
            ))}
          </ol>
          <div className="row">
            <button
              type="button"
              className="btn btn-primary"
              disabled={busy}
              onClick={() =>
                void guard(async () => {
                  setAnswers({});
                  setStep({ name: 'check', positions: await actions.backupChallenge() });
                })
              }
            >
              I wrote it down
            </button>
            <button type="button" className="btn btn-ghost" onClick={() => setStep({ name: 'intro' })}>
              Hide it
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={check}>
          <p>Type these words from your paper, to make sure it is right.</p>
          <div className="row wrap">
            {step.positions.map((p) => (
              <label key={p} className="field field-small">
                <span className="field-label">Word {p}</span>
                <input
                  value={answers[String(p)] ?? ''}
                  onChange={(e) => setAnswers({ ...answers, [String(p)]: e.target.value })}
                  autoComplete="off"
                  spellCheck={false}
                  autoCapitalize="none"
                  required
                />
              </label>
            ))}
          </div>
          <div className="row">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              Check my backup
            </button>
            <button type="button" className="btn btn-ghost" onClick={() => setStep({ name: 'intro' })}>
              Start over
            </button>
          </div>
        </form>
      )}
      {error ? (
        <p className="form-error" role="alert">
          <Icon name="alert" size={16} /> {error}
        </p>
      ) : null}
    </div>
  );
}
