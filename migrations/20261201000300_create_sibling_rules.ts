import type { Knex } from 'knex';

// Sibling rules: a school's discount for the second (third...) child of a family. Siblings are
// students who share a verified guardian; the rule becomes an explicit discount line with its
// reason code when invoices are generated.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sibling_rules (
      school_id    text NOT NULL REFERENCES schools (id),
      id           text NOT NULL DEFAULT new_id('sib'),
      fee_item_id  text NOT NULL,
      -- The rule applies to the n-th child and later, eldest first (2 = from the second child).
      from_child   smallint NOT NULL CHECK (from_child BETWEEN 2 AND 10),
      percent      numeric(5,2) NOT NULL CHECK (percent > 0 AND percent <= 100),
      reason_code  text NOT NULL CHECK (reason_code ~ '^[A-Z0-9_]{2,40}$'),
      valid_from   date NOT NULL,
      valid_to     date,
      created_by   text NOT NULL REFERENCES people (id),
      created_at   timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id),
      CHECK (valid_to IS NULL OR valid_to >= valid_from)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE sibling_rules;');
}
