import type { Knex } from 'knex';

// Staff reads of student records and changes to staff roles are auditable (Decree 13/2023). Append-only.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE audit_events (
      school_id       text NOT NULL REFERENCES schools (id),
      id              text NOT NULL DEFAULT new_id('aud'),
      occurred_at     timestamptz NOT NULL DEFAULT now(),
      actor_person_id text NOT NULL REFERENCES people (id),
      action          text NOT NULL,
      subject_type    text NOT NULL,
      subject_id      text NOT NULL,
      details         jsonb NOT NULL DEFAULT '{}'::jsonb,
      request_id      text,
      PRIMARY KEY (school_id, id)
    );
    CREATE INDEX audit_events_subject_idx ON audit_events (school_id, subject_type, subject_id, occurred_at);
    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE audit_events;');
}
