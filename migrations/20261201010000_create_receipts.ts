import type { Knex } from 'knex';

// E-tax receipts (bien lai dien tu): series with gap-free counters, receipts and their lines, which
// allocations each receipt covers (the idempotency key), cancellations, the schools' signing keys,
// and the outbox to the tax authority with every delivery attempt. Receipts, lines, coverage and
// cancellations are insert-only; the outbox row is delivery state, not money history.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE receipt_series (
      school_id     text NOT NULL REFERENCES schools (id),
      id            text NOT NULL DEFAULT new_id('rser'),
      -- Ky hieu mau: e.g. 01BLP0-001.
      template_code text NOT NULL CHECK (template_code ~ '^[0-9]{2}[A-Z0-9]{4}-[0-9]{3}$'),
      -- Ky hieu: letters, two-digit year, form letter, e.g. BI-25E.
      symbol        text NOT NULL CHECK (symbol ~ '^[A-Z]{1,6}-[0-9]{2}[A-Z]$'),
      document_kind text NOT NULL DEFAULT 'receipt' CHECK (document_kind IN ('receipt')),
      title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
      valid_from    date NOT NULL,
      valid_to      date,
      created_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      UNIQUE (school_id, template_code, symbol),
      CHECK (valid_to IS NULL OR valid_to >= valid_from)
    );

    -- Gap-free numbers: one row per (school, template, series), advanced with UPDATE ... RETURNING
    -- inside the issuing transaction; a rolled-back issue gives its numbers back. Never a sequence.
    CREATE TABLE receipt_number_counters (
      school_id     text NOT NULL,
      template_code text NOT NULL,
      symbol        text NOT NULL,
      next_number   integer NOT NULL DEFAULT 1 CHECK (next_number >= 1),
      PRIMARY KEY (school_id, template_code, symbol),
      FOREIGN KEY (school_id, template_code, symbol) REFERENCES receipt_series (school_id, template_code, symbol)
    );

    -- One Ed25519 key pair per school signs its receipts; the public key is published.
    CREATE TABLE receipt_signing_keys (
      school_id       text NOT NULL REFERENCES schools (id),
      id              text NOT NULL DEFAULT new_id('rkey'),
      algorithm       text NOT NULL CHECK (algorithm IN ('ed25519')),
      public_key_pem  text NOT NULL,
      private_key_pem text NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      UNIQUE (school_id)
    );

    CREATE TABLE receipts (
      school_id         text NOT NULL REFERENCES schools (id),
      id                text NOT NULL DEFAULT new_id('rct'),
      series_id         text NOT NULL,
      template_code     text NOT NULL,
      symbol            text NOT NULL,
      number            integer NOT NULL CHECK (number >= 1),
      kind              text NOT NULL CHECK (kind IN ('original', 'replacement', 'adjustment')),
      -- A replacement stands for a cancelled receipt; an adjustment changes an active one's amount.
      related_receipt_id text,
      payment_id        text,
      person_id         text NOT NULL REFERENCES people (id),
      -- The invoices whose payment this receipt stands for (a replacement inherits them): when the
      -- payment no longer pays them (reversed, moved to another student), the receipt is cancelled.
      invoice_ids       text[] NOT NULL DEFAULT '{}',
      total_vnd         bigint NOT NULL,
      content           jsonb NOT NULL,
      signature         text NOT NULL,
      signing_key_id    text NOT NULL,
      lookup_code       text NOT NULL CHECK (lookup_code ~ '^[0-9A-Z]{16}$'),
      issued_at         timestamptz NOT NULL,
      issued_by         text REFERENCES people (id),
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, series_id) REFERENCES receipt_series (school_id, id),
      FOREIGN KEY (school_id, related_receipt_id) REFERENCES receipts (school_id, id),
      FOREIGN KEY (school_id, payment_id) REFERENCES payments (school_id, id),
      FOREIGN KEY (school_id, signing_key_id) REFERENCES receipt_signing_keys (school_id, id),
      UNIQUE (school_id, template_code, symbol, number),
      UNIQUE (school_id, lookup_code),
      CHECK ((kind = 'original') = (related_receipt_id IS NULL)),
      CHECK (kind = 'adjustment' OR total_vnd > 0),
      CHECK (kind <> 'adjustment' OR total_vnd <> 0)
    );
    -- The public lookup arrives without a school; 80 random bits make the code unique in practice.
    CREATE INDEX receipts_lookup_code_idx ON receipts (lookup_code);
    CREATE INDEX receipts_payment_idx ON receipts (school_id, payment_id);
    -- A cancelled receipt is replaced at most once.
    CREATE UNIQUE INDEX receipts_one_replacement ON receipts (school_id, related_receipt_id) WHERE kind = 'replacement';

    CREATE TABLE receipt_lines (
      school_id   text NOT NULL,
      receipt_id  text NOT NULL,
      line_no     smallint NOT NULL CHECK (line_no >= 1),
      fee_item_id text,
      description text NOT NULL,
      amount_vnd  bigint NOT NULL,
      PRIMARY KEY (school_id, receipt_id, line_no),
      FOREIGN KEY (school_id, receipt_id) REFERENCES receipts (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id)
    );

    -- The idempotency key of issuing: an allocation is covered by at most one receipt, ever.
    CREATE TABLE receipt_allocations (
      school_id     text NOT NULL,
      allocation_id text NOT NULL,
      receipt_id    text NOT NULL,
      PRIMARY KEY (school_id, allocation_id),
      FOREIGN KEY (school_id, allocation_id) REFERENCES allocations (school_id, id),
      FOREIGN KEY (school_id, receipt_id) REFERENCES receipts (school_id, id)
    );
    CREATE INDEX receipt_allocations_receipt_idx ON receipt_allocations (school_id, receipt_id);
    -- The receipt sweep reads recent payment allocations only: positive ones still to be receipted,
    -- negative ones (reversals, corrections) whose receipts must be cancelled.
    CREATE INDEX allocations_receipt_pending_idx ON allocations (school_id, created_at) WHERE source = 'payment' AND amount_vnd > 0;
    CREATE INDEX allocations_receipt_undone_idx ON allocations (created_at) WHERE source = 'payment' AND amount_vnd < 0;

    -- A cancellation is a row of its own (the receipt is never edited); at most one per receipt.
    CREATE TABLE receipt_cancellations (
      school_id    text NOT NULL,
      receipt_id   text NOT NULL,
      cause        text NOT NULL CHECK (cause IN ('manual', 'payment_reversed', 'payment_corrected')),
      reason       text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
      cancelled_by text REFERENCES people (id),
      cancelled_at timestamptz NOT NULL,
      PRIMARY KEY (school_id, receipt_id),
      FOREIGN KEY (school_id, receipt_id) REFERENCES receipts (school_id, id),
      CHECK ((cause = 'manual') = (cancelled_by IS NOT NULL))
    );

    -- Transactional outbox to the tax authority, written in the issuing (or cancelling) transaction.
    CREATE TABLE tax_outbox (
      school_id       text NOT NULL,
      id              text NOT NULL DEFAULT new_id('txo'),
      receipt_id      text NOT NULL,
      action          text NOT NULL CHECK (action IN ('issue', 'cancel')),
      status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
      attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      next_attempt_at timestamptz NOT NULL,
      -- A worker that took the item holds it until then; a crashed worker's lease simply expires.
      leased_until    timestamptz,
      acceptance_code text,
      rejection_code  text,
      rejection_reason text,
      created_at      timestamptz NOT NULL,
      updated_at      timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, receipt_id) REFERENCES receipts (school_id, id),
      UNIQUE (school_id, receipt_id, action),
      CHECK ((status = 'accepted') = (acceptance_code IS NOT NULL)),
      CHECK ((status = 'rejected') = (rejection_reason IS NOT NULL))
    );
    CREATE INDEX tax_outbox_due_idx ON tax_outbox (next_attempt_at) WHERE status = 'pending';

    CREATE TABLE tax_delivery_attempts (
      school_id     text NOT NULL,
      id            text NOT NULL DEFAULT new_id('txa'),
      outbox_id     text NOT NULL,
      attempt_no    integer NOT NULL CHECK (attempt_no >= 1),
      outcome       text NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'failed', 'timeout')),
      detail        text,
      started_at    timestamptz NOT NULL,
      finished_at   timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, outbox_id) REFERENCES tax_outbox (school_id, id),
      UNIQUE (school_id, outbox_id, attempt_no)
    );

    CREATE TRIGGER receipts_append_only BEFORE UPDATE OR DELETE ON receipts FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
    CREATE TRIGGER receipt_lines_append_only BEFORE UPDATE OR DELETE ON receipt_lines FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
    CREATE TRIGGER receipt_allocations_append_only BEFORE UPDATE OR DELETE ON receipt_allocations FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
    CREATE TRIGGER receipt_cancellations_append_only BEFORE UPDATE OR DELETE ON receipt_cancellations FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
    CREATE TRIGGER tax_delivery_attempts_append_only BEFORE UPDATE OR DELETE ON tax_delivery_attempts FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE tax_delivery_attempts, tax_outbox, receipt_cancellations, receipt_allocations, receipt_lines, receipts, receipt_signing_keys, receipt_number_counters, receipt_series;
    DROP INDEX allocations_receipt_pending_idx, allocations_receipt_undone_idx;
  `);
}
