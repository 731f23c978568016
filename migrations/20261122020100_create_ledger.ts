import type { Knex } from 'knex';

// Double-entry ledger: every money movement is a journal whose entries sum to zero. Entries are
// insert-only; mistakes are corrected by new journals. Amounts are signed dong: debit positive.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE journals (
      school_id      text NOT NULL REFERENCES schools (id),
      id             text NOT NULL DEFAULT new_id('jnl'),
      kind           text NOT NULL CHECK (kind IN ('invoice_issued', 'invoice_voided', 'payment_received', 'credit_applied', 'suspense_attributed', 'payment_reversed')),
      reference_type text NOT NULL,
      reference_id   text NOT NULL,
      memo           text,
      posted_at      timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      -- One journal of a kind per business event: posting twice is impossible.
      UNIQUE (school_id, kind, reference_type, reference_id)
    );

    CREATE TABLE ledger_entries (
      school_id    text NOT NULL,
      journal_id   text NOT NULL,
      entry_no     smallint NOT NULL CHECK (entry_no >= 1),
      account_kind text NOT NULL CHECK (account_kind IN ('bank_clearing', 'receivable', 'revenue', 'credit', 'suspense')),
      account_key  text NOT NULL,
      amount_vnd   bigint NOT NULL CHECK (amount_vnd <> 0),
      PRIMARY KEY (school_id, journal_id, entry_no),
      FOREIGN KEY (school_id, journal_id) REFERENCES journals (school_id, id)
    );
    CREATE INDEX ledger_entries_account_idx ON ledger_entries (school_id, account_kind, account_key);

    CREATE TRIGGER journals_append_only BEFORE UPDATE OR DELETE ON journals FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();

    -- Every statement that writes entries must leave each journal it touched balanced. Since every
    -- journal balanced before the statement (induction), it is enough that the statement's new
    -- entries sum to zero per journal: one check per statement over the new rows only, which keeps
    -- bulk issuing and busy callback traffic fast.
    CREATE FUNCTION check_journals_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      bad record;
    BEGIN
      SELECT n.journal_id, sum(n.amount_vnd) AS total INTO bad
      FROM new_entries n
      GROUP BY n.school_id, n.journal_id
      HAVING sum(n.amount_vnd) <> 0
      LIMIT 1;
      IF FOUND THEN
        RAISE EXCEPTION 'journal % does not balance (sum %)', bad.journal_id, bad.total USING ERRCODE = '23514';
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
      REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION check_journals_balanced();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE ledger_entries, journals; DROP FUNCTION check_journals_balanced();');
}
