import type { Knex } from 'knex';

// Bank statements and their reconciliation against recorded payments (DESIGN.md 5.6).
//
// - sim_bank.transactions is the simulated bank's own ledger: the outside system's state, kept in
//   its own schema so nothing of ours joins it by accident (only the simulator reads and writes it).
// - statement_imports: one row per uploaded file or API pull, with the bytes as received.
// - statement_lines: each line verbatim, unique per account on a dedupe key (the bank's transaction
//   id, or a fingerprint numbered within its day, so a second identical line is a distinct line).
//   Only the reconciliation columns (matched_vnd, status) may change; the database keeps
//   0 <= matched_vnd <= amount_vnd and a reconciled line fully matched.
// - reconciliation_results: one outcome per line, and per payment the bank did not show that day.
//   Exceptions (every outcome but matched) are resolved in place, once.
// - Payments created from a statement line go through the payment machinery as bank events of a
//   per-account 'statement' endpoint, so they carry provider 'statement'.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE SCHEMA sim_bank;
    CREATE TABLE sim_bank.transactions (
      account_number       text NOT NULL,
      bank_transaction_id  text NOT NULL,
      booked_at            timestamptz NOT NULL,
      direction            text NOT NULL CHECK (direction IN ('in', 'out')),
      amount_vnd           bigint NOT NULL CHECK (amount_vnd > 0),
      description          text NOT NULL,
      virtual_account      text,
      counterparty_name    text,
      counterparty_account text,
      PRIMARY KEY (account_number, bank_transaction_id)
    );
    CREATE INDEX sim_bank_transactions_day_idx ON sim_bank.transactions (account_number, booked_at);

    ALTER TABLE bank_endpoints DROP CONSTRAINT bank_endpoints_provider_check;
    ALTER TABLE bank_endpoints ADD CONSTRAINT bank_endpoints_provider_check CHECK (provider IN ('sepay', 'casso', 'vnpay', 'direct', 'billpay', 'statement'));
    ALTER TABLE payments DROP CONSTRAINT payments_provider_check;
    ALTER TABLE payments ADD CONSTRAINT payments_provider_check CHECK (provider IN ('sepay', 'casso', 'vnpay', 'direct', 'billpay', 'manual', 'statement'));

    CREATE TABLE statement_imports (
      school_id             text NOT NULL REFERENCES schools (id),
      id                    text NOT NULL DEFAULT new_id('stm'),
      collection_account_id text NOT NULL,
      source                text NOT NULL CHECK (source IN ('camt053', 'csv', 'vietcombank_csv', 'bank_api')),
      from_on               date NOT NULL,
      to_on                 date NOT NULL,
      file_name             text,
      content               text NOT NULL,
      content_sha256        text NOT NULL,
      opening_balance_vnd   bigint,
      closing_balance_vnd   bigint,
      line_count            integer NOT NULL CHECK (line_count >= 0),
      new_line_count        integer NOT NULL CHECK (new_line_count >= 0 AND new_line_count <= line_count),
      imported_by           text REFERENCES people (id),
      imported_at           timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, collection_account_id) REFERENCES collection_accounts (school_id, id),
      CHECK (from_on <= to_on)
    );
    CREATE INDEX statement_imports_account_idx ON statement_imports (school_id, collection_account_id, from_on);

    CREATE TABLE statement_lines (
      school_id             text NOT NULL REFERENCES schools (id),
      id                    text NOT NULL DEFAULT new_id('stl'),
      collection_account_id text NOT NULL,
      import_id             text NOT NULL,
      booked_on             date NOT NULL,
      booked_at             timestamptz,
      direction             text NOT NULL CHECK (direction IN ('in', 'out')),
      amount_vnd            bigint NOT NULL CHECK (amount_vnd > 0),
      bank_transaction_id   text,
      description           text NOT NULL,
      virtual_account       text,
      counterparty_name     text,
      counterparty_account  text,
      balance_after_vnd     bigint,
      raw                   jsonb NOT NULL,
      payment_codes         text[] NOT NULL DEFAULT '{}',
      dedupe_key            text NOT NULL,
      matched_vnd           bigint NOT NULL DEFAULT 0,
      status                text NOT NULL DEFAULT 'unreconciled' CHECK (status IN ('unreconciled', 'reconciled', 'exception')),
      created_at            timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, collection_account_id) REFERENCES collection_accounts (school_id, id),
      FOREIGN KEY (school_id, import_id) REFERENCES statement_imports (school_id, id),
      UNIQUE (school_id, collection_account_id, dedupe_key),
      -- Nothing is ever allocated beyond the line, nor taken below zero; reconciled means all of it.
      CONSTRAINT statement_lines_matched_within_amount CHECK (matched_vnd >= 0 AND matched_vnd <= amount_vnd),
      CONSTRAINT statement_lines_reconciled_fully CHECK (status <> 'reconciled' OR matched_vnd = amount_vnd)
    ) WITH (fillfactor = 70); -- room for reconciliation's update of each line beside it (a HOT update: no index entries)
    CREATE INDEX statement_lines_day_idx ON statement_lines (school_id, collection_account_id, booked_on);

    CREATE FUNCTION statement_lines_verbatim() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'statement lines are stored verbatim' USING ERRCODE = '55000';
    END $$;
    -- Only an UPDATE that names a verbatim column fires it, so reconciliation's update of
    -- matched_vnd and status costs no trigger call per line.
    CREATE TRIGGER statement_lines_verbatim BEFORE UPDATE OF school_id, id, collection_account_id, import_id, booked_on, booked_at, direction, amount_vnd,
      bank_transaction_id, description, virtual_account, counterparty_name, counterparty_account, balance_after_vnd, raw, payment_codes, dedupe_key, created_at
      OR DELETE ON statement_lines FOR EACH ROW EXECUTE FUNCTION statement_lines_verbatim();

    -- No foreign keys here: rows are written only by set-based statements joining existing lines and
    -- payments (neither can be deleted: triggers), and each foreign key check is a row lock on the
    -- referenced line or payment, which tripled the time to match 100,000 lines.
    CREATE TABLE reconciliation_results (
      school_id             text NOT NULL,
      id                    text NOT NULL DEFAULT new_id('rec'),
      collection_account_id text NOT NULL,
      statement_on          date NOT NULL,
      line_id               text,
      payment_id            text,
      outcome               text NOT NULL CHECK (outcome IN ('matched', 'missing_in_service', 'missing_at_bank', 'amount_mismatch', 'duplicate')),
      rule                  text CHECK (rule IN ('bank_reference', 'payment_code', 'virtual_account', 'amount_window', 'statement_payment')),
      amount_vnd            bigint NOT NULL,
      details               jsonb NOT NULL DEFAULT '{}'::jsonb,
      status                text NOT NULL CHECK (status IN ('closed', 'open', 'resolved')),
      created_at            timestamptz NOT NULL,
      resolution            text CHECK (resolution IN ('attached', 'refund', 'bank_error', 'dismissed')),
      resolution_note       text,
      resolution_payment_id text,
      resolved_by           text,
      resolved_at           timestamptz,
      PRIMARY KEY (school_id, id),
      CHECK (line_id IS NOT NULL OR payment_id IS NOT NULL),
      CHECK ((outcome = 'matched') = (rule IS NOT NULL)),
      CHECK ((outcome = 'matched') = (status = 'closed')),
      CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolution IS NOT NULL AND resolved_by IS NOT NULL))
    );
    -- One outcome per line; a payment matched to at most one line; one outcome per unmatched payment per day.
    CREATE UNIQUE INDEX reconciliation_results_line_key ON reconciliation_results (school_id, line_id) WHERE line_id IS NOT NULL;
    CREATE UNIQUE INDEX reconciliation_results_payment_key ON reconciliation_results (school_id, payment_id) WHERE line_id IS NOT NULL AND payment_id IS NOT NULL;
    CREATE UNIQUE INDEX reconciliation_results_unmatched_payment_key ON reconciliation_results (school_id, payment_id, statement_on) WHERE line_id IS NULL;
    CREATE INDEX reconciliation_results_open_idx ON reconciliation_results (school_id, created_at) WHERE status = 'open';
    CREATE INDEX reconciliation_results_day_idx ON reconciliation_results (school_id, collection_account_id, statement_on);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE reconciliation_results, statement_lines, statement_imports;
    DROP FUNCTION statement_lines_verbatim();
    ALTER TABLE payments DROP CONSTRAINT payments_provider_check;
    ALTER TABLE payments ADD CONSTRAINT payments_provider_check CHECK (provider IN ('sepay', 'casso', 'vnpay', 'direct', 'billpay', 'manual'));
    ALTER TABLE bank_endpoints DROP CONSTRAINT bank_endpoints_provider_check;
    ALTER TABLE bank_endpoints ADD CONSTRAINT bank_endpoints_provider_check CHECK (provider IN ('sepay', 'casso', 'vnpay', 'direct', 'billpay'));
    DROP SCHEMA sim_bank CASCADE;
  `);
}
