import type { Knex } from 'knex';

// Per-student virtual accounts: numbers the school's bank routes into a collection account, one per
// student, so a transfer to that number names the student without any payment code. The bank
// issues the numbers; the school records which student each belongs to.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE virtual_accounts (
      school_id             text NOT NULL REFERENCES schools (id),
      id                    text NOT NULL DEFAULT new_id('vac'),
      collection_account_id text NOT NULL,
      number                text NOT NULL CHECK (number ~ '^[0-9A-Z]{4,19}$'),
      person_id             text NOT NULL REFERENCES people (id),
      created_by            text NOT NULL REFERENCES people (id),
      created_at            timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, collection_account_id) REFERENCES collection_accounts (school_id, id),
      UNIQUE (school_id, collection_account_id, number),
      UNIQUE (school_id, collection_account_id, person_id)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE virtual_accounts;');
}
