import type { Knex } from 'knex';

// Refunds of a student's credit to the bank account of a verified guardian (or of the student,
// once an adult): proposed by an accountant, approved by a school admin who is not the proposer.
// The money moves (a `credit_refunded` journal) only on approval.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE journals DROP CONSTRAINT journals_kind_check;
    ALTER TABLE journals ADD CONSTRAINT journals_kind_check CHECK (kind IN ('invoice_issued', 'invoice_voided', 'payment_received', 'credit_applied', 'suspense_attributed', 'payment_reversed', 'credit_note', 'payment_corrected', 'credit_refunded'));

    CREATE TABLE refunds (
      school_id             text NOT NULL REFERENCES schools (id),
      id                    text NOT NULL DEFAULT new_id('rfd'),
      person_id             text NOT NULL REFERENCES people (id),
      payee_person_id       text NOT NULL REFERENCES people (id),
      payee_relation        text NOT NULL CHECK (payee_relation IN ('father', 'mother', 'legal_guardian', 'self')),
      collection_account_id text NOT NULL,
      bank_bin              char(6) NOT NULL CHECK (bank_bin ~ '^[0-9]{6}$'),
      account_number        text NOT NULL CHECK (account_number ~ '^[0-9A-Z]{4,19}$'),
      account_name          text NOT NULL CHECK (length(account_name) BETWEEN 1 AND 100),
      amount_vnd            bigint NOT NULL CHECK (amount_vnd > 0),
      reason                text NOT NULL CHECK (length(reason) BETWEEN 3 AND 500),
      status                text NOT NULL CHECK (status IN ('proposed', 'approved', 'rejected')),
      proposed_by           text NOT NULL REFERENCES people (id),
      proposed_at           timestamptz NOT NULL,
      decided_by            text REFERENCES people (id),
      decided_at            timestamptz,
      decision_note         text,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, collection_account_id) REFERENCES collection_accounts (school_id, id),
      CHECK ((status = 'proposed') = (decided_by IS NULL) AND (decided_by IS NULL) = (decided_at IS NULL)),
      -- Four eyes: whoever proposed a refund cannot approve or reject it.
      CHECK (decided_by IS NULL OR decided_by <> proposed_by)
    );
    CREATE INDEX refunds_student_idx ON refunds (school_id, person_id) WHERE status = 'proposed';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE refunds;
    ALTER TABLE journals DROP CONSTRAINT journals_kind_check;
    ALTER TABLE journals ADD CONSTRAINT journals_kind_check CHECK (kind IN ('invoice_issued', 'invoice_voided', 'payment_received', 'credit_applied', 'suspense_attributed', 'payment_reversed', 'credit_note', 'payment_corrected'));
  `);
}
