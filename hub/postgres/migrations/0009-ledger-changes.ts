/**
 * Version 9: the ledger's changes in order, per worker, so a worker's mirror reads only what
 * changed since its last read (GET /v1/earnings `changedAfter`), and its balance without a scan.
 *
 * Entries change status (pending → verified → paid, pending or held → rejected), so a cursor on
 * the entry id misses changes: each entry carries `change_seq`, the worker's change counter at
 * its insert or its last change of status or amount. The counter is a row of `ledger_heads`, one
 * per worker, which also holds the worker's balance by status (NUMERIC, summed exactly), both
 * kept by the trigger `earnings_change` in the transaction that writes the entry. Updating that
 * row locks it until the transaction ends, so one worker's changes commit in the order of their
 * numbers: a reader that has seen number n has seen every change numbered below it, and a cursor
 * never skips one committed late (a plain sequence would: its numbers are taken before commit,
 * in another order). Only one worker's own changes wait on each other; other workers' do not.
 *
 * A change of anything else (payout_id, held_until, alone) is not the worker's news and takes no
 * number (the trigger runs on updates of worker, status and amount only). A column added later
 * that the worker mirrors must be added to the trigger's list and its comparison. `earnings_changes` (worker, change_seq) serves the reads: a page of changes is an index
 * range, not a scan of the worker's ledger. Entries already there get numbers in id order.
 */
import type { PgMigration } from './index.js';

export const migration0009: PgMigration = {
  version: 9,
  name: 'ledger-changes',
  sql: `
    CREATE TABLE ledger_heads (
      worker TEXT PRIMARY KEY REFERENCES workers (address),
      seq BIGINT NOT NULL CHECK (seq > 0),
      pending uint256 NOT NULL,
      verified uint256 NOT NULL,
      paid uint256 NOT NULL
    );
    ALTER TABLE earnings ADD COLUMN change_seq BIGINT;
    UPDATE earnings e SET change_seq = n.seq
      FROM (SELECT id, row_number() OVER (PARTITION BY worker ORDER BY id) AS seq FROM earnings) n
      WHERE e.id = n.id;
    INSERT INTO ledger_heads (worker, seq, pending, verified, paid)
      SELECT worker, max(change_seq),
        coalesce(sum(amount) FILTER (WHERE status = 'pending'), 0),
        coalesce(sum(amount) FILTER (WHERE status = 'verified'), 0),
        coalesce(sum(amount) FILTER (WHERE status = 'paid'), 0)
      FROM earnings GROUP BY worker;
    ALTER TABLE earnings ALTER COLUMN change_seq SET NOT NULL;
    CREATE UNIQUE INDEX earnings_changes ON earnings (worker, change_seq);

    CREATE FUNCTION earnings_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      d_pending NUMERIC := 0;
      d_verified NUMERIC := 0;
      d_paid NUMERIC := 0;
    BEGIN
      IF TG_OP = 'UPDATE' THEN
        IF NEW.worker IS DISTINCT FROM OLD.worker THEN
          RAISE EXCEPTION 'a ledger entry does not change worker (entry %)', OLD.id;
        END IF;
        IF NEW.status = OLD.status AND NEW.amount = OLD.amount THEN
          NEW.change_seq := OLD.change_seq;
          RETURN NEW;
        END IF;
        CASE OLD.status
          WHEN 'pending' THEN d_pending := d_pending - OLD.amount;
          WHEN 'verified' THEN d_verified := d_verified - OLD.amount;
          WHEN 'paid' THEN d_paid := d_paid - OLD.amount;
          ELSE NULL;
        END CASE;
      END IF;
      CASE NEW.status
        WHEN 'pending' THEN d_pending := d_pending + NEW.amount;
        WHEN 'verified' THEN d_verified := d_verified + NEW.amount;
        WHEN 'paid' THEN d_paid := d_paid + NEW.amount;
        ELSE NULL;
      END CASE;
      IF TG_OP = 'INSERT' THEN
        -- (The proposed row is checked before its conflict: only an insert's sums, never below 0, go in it.)
        INSERT INTO ledger_heads AS h (worker, seq, pending, verified, paid)
          VALUES (NEW.worker, 1, d_pending, d_verified, d_paid)
          ON CONFLICT (worker) DO UPDATE
            SET seq = h.seq + 1, pending = h.pending + d_pending, verified = h.verified + d_verified, paid = h.paid + d_paid
          RETURNING seq INTO NEW.change_seq;
      ELSE
        UPDATE ledger_heads
          SET seq = seq + 1, pending = pending + d_pending, verified = verified + d_verified, paid = paid + d_paid
          WHERE worker = NEW.worker
          RETURNING seq INTO NEW.change_seq;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'the ledger of worker % has no head row', NEW.worker;
        END IF;
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER earnings_change BEFORE INSERT OR UPDATE OF worker, status, amount ON earnings
      FOR EACH ROW EXECUTE FUNCTION earnings_change();
  `,
};
