import type { Knex } from 'knex';

// People are cross-school: one row per personal ID, whether student, guardian or staff.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE people (
      id            text PRIMARY KEY DEFAULT new_id('per'),
      personal_id   char(12) NOT NULL UNIQUE CHECK (personal_id ~ '^[0-9]{12}$'),
      full_name     text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
      date_of_birth date NOT NULL,
      gender        text NOT NULL CHECK (gender IN ('male', 'female')),
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE people;');
}
