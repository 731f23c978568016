import type { Knex } from 'knex';

// Scheduled jobs (DESIGN.md 6): one row per (job, fire time) is the run coordinator. The replica
// whose INSERT wins runs the fire; the others see the conflict and skip. The row then records how
// the run went. Cross-school (a fire covers every school); a run started by hand for one school
// names it in scope_school_id, which is not a tenant key.
//
// Overdue reminders: one row per overdue invoice per Vietnam day, an outbox that a notifier (SMS,
// Zalo; not built) delivers from after commit. The key makes the job idempotent per day.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE job_runs (
      job             text NOT NULL CHECK (job ~ '^[a-z][a-z0-9-]{1,60}$'),
      fire_at         timestamptz NOT NULL,
      trigger         text NOT NULL CHECK (trigger IN ('schedule', 'catch_up', 'manual')),
      for_date        date,
      scope_school_id text,
      runner          text NOT NULL,
      status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
      started_at      timestamptz NOT NULL,
      lease_until     timestamptz NOT NULL,
      finished_at     timestamptz,
      result          jsonb,
      error           text,
      PRIMARY KEY (job, fire_at),
      CHECK ((status = 'running') = (finished_at IS NULL))
    );
    CREATE INDEX job_runs_started_idx ON job_runs (started_at DESC);

    CREATE TABLE overdue_reminders (
      school_id      text NOT NULL REFERENCES schools (id),
      invoice_id     text NOT NULL,
      reminded_on    date NOT NULL,
      person_id      text NOT NULL REFERENCES people (id),
      amount_due_vnd bigint NOT NULL CHECK (amount_due_vnd > 0),
      days_overdue   integer NOT NULL CHECK (days_overdue > 0),
      status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
      created_at     timestamptz NOT NULL,
      PRIMARY KEY (school_id, invoice_id, reminded_on),
      FOREIGN KEY (school_id, invoice_id) REFERENCES invoices (school_id, id)
    );
    CREATE INDEX overdue_reminders_pending_idx ON overdue_reminders (school_id, created_at) WHERE status = 'pending';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE overdue_reminders, job_runs;');
}
