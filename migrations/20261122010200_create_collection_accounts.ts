import type { Knex } from 'knex';

// A school's bank accounts that collect fees; one is the default for VietQR codes.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE collection_accounts (
      school_id      text NOT NULL REFERENCES schools (id),
      id             text NOT NULL DEFAULT new_id('acct'),
      bank_bin       char(6) NOT NULL CHECK (bank_bin ~ '^[0-9]{6}$'),
      account_number text NOT NULL CHECK (account_number ~ '^[0-9A-Za-z]{1,19}$'),
      account_name   text NOT NULL CHECK (length(account_name) BETWEEN 1 AND 100),
      is_default     boolean NOT NULL DEFAULT false,
      created_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      UNIQUE (school_id, bank_bin, account_number)
    );
    CREATE UNIQUE INDEX collection_accounts_one_default ON collection_accounts (school_id) WHERE is_default;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE collection_accounts;');
}
