import type { Knex } from 'knex';

// Overdue reminders actually sent (src/modules/reminders, src/integrations/notifications).
//
// A reminder is now one per invoice per STAGE (1: a day overdue, 2: a week, 3: thirty days),
// not one per day: the job runs every morning and queues only the stage an invoice has newly
// reached, so a family hears at most three times about one invoice. Existing rows take the stage of
// their lateness; of two rows of one invoice and stage, the earlier stays.
//
// reminder_messages is the outbox: one message per reminder per verified guardian with a phone
// (the primary key makes queuing twice add nothing), sent after commit by the reminder-delivery
// job, retried with backoff, given up after a few attempts, cancelled when the invoice no longer
// owes anything at send time.
//
// person_contacts: a person's phone for notifications (E.164 without '+', Vietnamese mobile),
// declared by the person (PUT /v1/me/contact). Cross-school, like people.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE person_contacts (
      person_id  text PRIMARY KEY REFERENCES people (id),
      phone      text NOT NULL CHECK (phone ~ '^84[35789][0-9]{8}$'),
      updated_at timestamptz NOT NULL
    );

    ALTER TABLE overdue_reminders ADD COLUMN stage smallint;
    UPDATE overdue_reminders SET stage = CASE WHEN days_overdue >= 30 THEN 3 WHEN days_overdue >= 7 THEN 2 ELSE 1 END;
    DELETE FROM overdue_reminders r USING overdue_reminders o
      WHERE o.school_id = r.school_id AND o.invoice_id = r.invoice_id AND o.stage = r.stage AND o.reminded_on < r.reminded_on;
    ALTER TABLE overdue_reminders
      ALTER COLUMN stage SET NOT NULL,
      ADD CONSTRAINT overdue_reminders_stage_check CHECK (stage BETWEEN 1 AND 3),
      DROP CONSTRAINT overdue_reminders_pkey,
      ADD PRIMARY KEY (school_id, invoice_id, stage),
      DROP CONSTRAINT overdue_reminders_status_check,
      -- pending: messages waiting; sent: at least one delivered; failed: every one given up;
      -- no_recipient: no verified guardian with a phone; cancelled: paid before it was sent.
      ADD CONSTRAINT overdue_reminders_status_check CHECK (status IN ('pending', 'sent', 'failed', 'no_recipient', 'cancelled'));

    CREATE TABLE reminder_messages (
      school_id           text NOT NULL,
      invoice_id          text NOT NULL,
      stage               smallint NOT NULL,
      guardian_person_id  text NOT NULL REFERENCES people (id),
      phone               text NOT NULL CHECK (phone ~ '^84[35789][0-9]{8}$'),
      tracking_id         text NOT NULL DEFAULT new_id('rmm'),
      status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
      attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      next_attempt_at     timestamptz NOT NULL,
      last_error          text,
      provider_message_id text,
      sent_at             timestamptz,
      created_at          timestamptz NOT NULL,
      PRIMARY KEY (school_id, invoice_id, stage, guardian_person_id),
      UNIQUE (school_id, tracking_id),
      FOREIGN KEY (school_id, invoice_id, stage) REFERENCES overdue_reminders (school_id, invoice_id, stage),
      CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
      CHECK (status <> 'sent' OR provider_message_id IS NOT NULL)
    );
    CREATE INDEX reminder_messages_due_idx ON reminder_messages (next_attempt_at) WHERE status = 'pending';
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE reminder_messages, person_contacts;
    DELETE FROM overdue_reminders WHERE status IN ('no_recipient', 'cancelled');
    ALTER TABLE overdue_reminders DROP CONSTRAINT overdue_reminders_status_check,
      ADD CONSTRAINT overdue_reminders_status_check CHECK (status IN ('pending', 'sent', 'failed')),
      DROP CONSTRAINT overdue_reminders_pkey, ADD PRIMARY KEY (school_id, invoice_id, reminded_on), DROP COLUMN stage;
  `);
}
