import type { Knex } from 'knex';

// Invoices (fee notices) and their lines, generation runs, and the gap-free number counters.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Gap-free numbers: one row per (school, series), advanced with UPDATE ... RETURNING inside the
    -- issuing transaction; a rolled-back issue gives its number back. Never a sequence.
    CREATE TABLE invoice_number_counters (
      school_id   text NOT NULL REFERENCES schools (id),
      series      text NOT NULL CHECK (series ~ '^[A-Z0-9-]{2,20}$'),
      next_number integer NOT NULL DEFAULT 1 CHECK (next_number >= 1),
      PRIMARY KEY (school_id, series)
    );

    CREATE TABLE invoice_runs (
      school_id      text NOT NULL REFERENCES schools (id),
      id             text NOT NULL DEFAULT new_id('run'),
      period_kind    text NOT NULL CHECK (period_kind IN ('month', 'term', 'year')),
      period_label   text NOT NULL CHECK (length(period_label) BETWEEN 1 AND 40),
      period_start   date NOT NULL,
      period_end     date NOT NULL,
      due_on         date NOT NULL,
      status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
      total          integer NOT NULL DEFAULT 0,
      done           integer NOT NULL DEFAULT 0,
      failed         integer NOT NULL DEFAULT 0,
      errors         jsonb NOT NULL DEFAULT '[]'::jsonb,
      failure_reason text,
      created_by     text NOT NULL REFERENCES people (id),
      created_at     timestamptz NOT NULL DEFAULT now(),
      started_at     timestamptz,
      finished_at    timestamptz,
      PRIMARY KEY (school_id, id),
      CHECK (period_end >= period_start)
    );
    -- At most one run per school and period at a time.
    CREATE UNIQUE INDEX invoice_runs_one_active ON invoice_runs (school_id, period_kind, period_start) WHERE status IN ('queued', 'running');

    CREATE TABLE invoices (
      school_id       text NOT NULL REFERENCES schools (id),
      id              text NOT NULL DEFAULT new_id('inv'),
      person_id       text NOT NULL REFERENCES people (id),
      class_id        text NOT NULL,
      plan_version_id text NOT NULL,
      run_id          text,
      period_kind     text NOT NULL CHECK (period_kind IN ('month', 'term', 'year')),
      period_label    text NOT NULL,
      period_start    date NOT NULL,
      period_end      date NOT NULL,
      due_on          date NOT NULL,
      status          text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'partially_paid', 'paid', 'void')),
      series          text,
      number          integer CHECK (number >= 1),
      total_vnd       bigint NOT NULL CHECK (total_vnd >= 0),
      paid_vnd        bigint NOT NULL DEFAULT 0 CHECK (paid_vnd >= 0 AND paid_vnd <= total_vnd),
      payment_code    text NOT NULL CHECK (payment_code ~ '^[2-9A-HJ-NP-Z]{10}$'),
      pay_token       text NOT NULL CHECK (length(pay_token) >= 22),
      created_at      timestamptz NOT NULL DEFAULT now(),
      issued_at       timestamptz,
      voided_at       timestamptz,
      void_reason     text,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, class_id) REFERENCES classes (school_id, id),
      FOREIGN KEY (school_id, plan_version_id) REFERENCES fee_plan_versions (school_id, id),
      FOREIGN KEY (school_id, run_id) REFERENCES invoice_runs (school_id, id),
      -- The natural idempotency key: a student has one invoice per period, whatever plan version
      -- priced it, so generating twice (or after a price change) creates nothing new.
      UNIQUE (school_id, person_id, period_kind, period_start),
      UNIQUE (school_id, payment_code),
      UNIQUE (school_id, series, number),
      CHECK ((status = 'draft') = (number IS NULL) OR status = 'void'),
      CHECK ((number IS NULL) = (series IS NULL)),
      CHECK ((status = 'void') = (voided_at IS NOT NULL)),
      CHECK (status <> 'void' OR (void_reason IS NOT NULL AND paid_vnd = 0))
    );
    -- Lookups that arrive without a school: bank callbacks (payment code), the parent's page (token),
    -- GET /v1/invoices/{id}. Not unique indexes: uniqueness comes from the school's unique prefix
    -- (payment codes) and 128 random bits (tokens, ids).
    CREATE INDEX invoices_payment_code_idx ON invoices (payment_code);
    CREATE INDEX invoices_pay_token_idx ON invoices (pay_token);
    CREATE INDEX invoices_id_idx ON invoices (id);
    CREATE INDEX invoices_student_idx ON invoices (school_id, person_id, period_start);
    CREATE INDEX invoices_run_idx ON invoices (school_id, run_id);

    CREATE TABLE invoice_lines (
      school_id         text NOT NULL,
      invoice_id        text NOT NULL,
      line_no           smallint NOT NULL CHECK (line_no >= 1),
      kind              text NOT NULL CHECK (kind IN ('fee', 'discount')),
      fee_item_id       text NOT NULL,
      description       text NOT NULL,
      quantity          integer NOT NULL CHECK (quantity >= 0),
      unit_amount_vnd   bigint NOT NULL CHECK (unit_amount_vnd >= 0),
      gross_vnd         bigint NOT NULL CHECK (gross_vnd >= 0),
      exemption_percent smallint NOT NULL DEFAULT 0 CHECK (exemption_percent IN (0, 50, 70, 100)),
      exemption_vnd     bigint NOT NULL DEFAULT 0 CHECK (exemption_vnd >= 0),
      total_vnd         bigint NOT NULL,
      reason_code       text,
      PRIMARY KEY (school_id, invoice_id, line_no),
      FOREIGN KEY (school_id, invoice_id) REFERENCES invoices (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id),
      CHECK (
        (kind = 'fee' AND total_vnd = gross_vnd - exemption_vnd AND total_vnd >= 0 AND reason_code IS NULL)
        OR (kind = 'discount' AND total_vnd <= 0 AND gross_vnd = 0 AND exemption_vnd = 0 AND reason_code IS NOT NULL)
      )
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE invoice_lines, invoices, invoice_runs, invoice_number_counters;');
}
