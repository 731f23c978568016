import type { Knex } from 'knex';

// Credit notes (Stripe's arithmetic): a credit note lowers what an issued invoice asks for. The part
// that was still owed (pre-payment) simply stops being owed; the part already paid (post-payment)
// leaves the invoice and becomes the student's credit. The invoice keeps its total and lines; it
// gains a credited amount. Nothing is edited or deleted: credit notes are append-only documents
// with gap-free numbers of their own series (CN-<year>, same counters as invoices). Also payment
// corrections (below), which need the journal kind added here, and the dedupe of one transfer
// reported by two providers.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE invoices ADD COLUMN credited_vnd bigint NOT NULL DEFAULT 0 CHECK (credited_vnd >= 0);
    ALTER TABLE invoices ADD CONSTRAINT invoices_credited_and_paid_within_total CHECK (credited_vnd + paid_vnd <= total_vnd);

    ALTER TABLE journals DROP CONSTRAINT journals_kind_check;
    ALTER TABLE journals ADD CONSTRAINT journals_kind_check CHECK (kind IN ('invoice_issued', 'invoice_voided', 'payment_received', 'credit_applied', 'suspense_attributed', 'payment_reversed', 'credit_note', 'payment_corrected'));

    CREATE TABLE credit_notes (
      school_id        text NOT NULL REFERENCES schools (id),
      id               text NOT NULL DEFAULT new_id('crn'),
      invoice_id       text NOT NULL,
      person_id        text NOT NULL REFERENCES people (id),
      series           text NOT NULL,
      number           integer NOT NULL CHECK (number >= 1),
      amount_vnd       bigint NOT NULL CHECK (amount_vnd > 0),
      pre_payment_vnd  bigint NOT NULL CHECK (pre_payment_vnd >= 0),
      post_payment_vnd bigint NOT NULL CHECK (post_payment_vnd >= 0),
      -- Where the post-payment part went; refunds to a verified guardian come with guardian links.
      post_payment_to  text NOT NULL CHECK (post_payment_to IN ('credit')),
      reason           text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
      created_by       text NOT NULL REFERENCES people (id),
      created_at       timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, invoice_id) REFERENCES invoices (school_id, id),
      UNIQUE (school_id, series, number),
      CHECK (pre_payment_vnd + post_payment_vnd = amount_vnd)
    );
    CREATE INDEX credit_notes_invoice_idx ON credit_notes (school_id, invoice_id);

    -- How a credit note's amount is taken from the invoice's fee items (revenue is reduced per item).
    CREATE TABLE credit_note_lines (
      school_id      text NOT NULL,
      credit_note_id text NOT NULL,
      fee_item_id    text NOT NULL,
      amount_vnd     bigint NOT NULL CHECK (amount_vnd > 0),
      PRIMARY KEY (school_id, credit_note_id, fee_item_id),
      FOREIGN KEY (school_id, credit_note_id) REFERENCES credit_notes (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id)
    );

    -- A payment credited to the wrong student (a sibling's code, a typo that made another valid
    -- code) is moved to the right one by a correction: the payment row is never edited; its
    -- allocations are reversed by negative rows and it is allocated again to the other student.
    -- The latest correction says whose the payment is now.
    CREATE TABLE payment_corrections (
      school_id      text NOT NULL REFERENCES schools (id),
      id             text NOT NULL DEFAULT new_id('pco'),
      payment_id     text NOT NULL,
      -- 1, 2, ... per payment (taken under the payment's row lock); the highest is the latest.
      correction_no  integer NOT NULL CHECK (correction_no >= 1),
      from_person_id text NOT NULL REFERENCES people (id),
      to_person_id   text NOT NULL REFERENCES people (id),
      reason         text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
      created_by     text NOT NULL REFERENCES people (id),
      created_at     timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, payment_id) REFERENCES payments (school_id, id),
      UNIQUE (school_id, payment_id, correction_no),
      CHECK (from_person_id <> to_person_id)
    );
    CREATE TRIGGER payment_corrections_append_only BEFORE UPDATE OR DELETE ON payment_corrections FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();

    -- One transfer reported by two notification providers watching the same account (SePay and
    -- Casso both read the bank's statement, or a partner bank and SePay) is one payment: the bank's
    -- own reference of the transfer is unique within a collection account. VNPay settles to the
    -- school separately and is left out.
    ALTER TABLE payments ADD COLUMN bank_reference text;
    CREATE UNIQUE INDEX payments_bank_reference_key ON payments (school_id, collection_account_id, bank_reference)
      WHERE bank_reference IS NOT NULL AND bank_reference <> '' AND provider <> 'vnpay';
    -- The same reference reported with another amount: recorded in suspense, for the accountant.
    ALTER TABLE payment_exceptions DROP CONSTRAINT payment_exceptions_kind_check;
    ALTER TABLE payment_exceptions ADD CONSTRAINT payment_exceptions_kind_check
      CHECK (kind IN ('unattributed', 'unknown_account', 'external_id_amount_mismatch', 'outgoing_transfer', 'bank_reference_mismatch'));
    ALTER TABLE bank_events DROP CONSTRAINT bank_events_status_check;
    ALTER TABLE bank_events ADD CONSTRAINT bank_events_status_check CHECK (status IN ('received', 'processed', 'ignored', 'duplicate'));

    CREATE TRIGGER credit_notes_append_only BEFORE UPDATE OR DELETE ON credit_notes FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
    CREATE TRIGGER credit_note_lines_append_only BEFORE UPDATE OR DELETE ON credit_note_lines FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE payment_corrections, credit_note_lines, credit_notes;
    ALTER TABLE bank_events DROP CONSTRAINT bank_events_status_check;
    ALTER TABLE bank_events ADD CONSTRAINT bank_events_status_check CHECK (status IN ('received', 'processed', 'ignored'));
    DROP INDEX payments_bank_reference_key;
    ALTER TABLE payment_exceptions DROP CONSTRAINT payment_exceptions_kind_check;
    ALTER TABLE payment_exceptions ADD CONSTRAINT payment_exceptions_kind_check
      CHECK (kind IN ('unattributed', 'unknown_account', 'external_id_amount_mismatch', 'outgoing_transfer'));
    ALTER TABLE payments DROP COLUMN bank_reference;
    ALTER TABLE journals DROP CONSTRAINT journals_kind_check;
    ALTER TABLE journals ADD CONSTRAINT journals_kind_check CHECK (kind IN ('invoice_issued', 'invoice_voided', 'payment_received', 'credit_applied', 'suspense_attributed', 'payment_reversed'));
    ALTER TABLE invoices DROP CONSTRAINT invoices_credited_and_paid_within_total;
    ALTER TABLE invoices DROP COLUMN credited_vnd;
  `);
}
