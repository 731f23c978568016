import type { Knex } from 'knex';

// Client POSTs carry an Idempotency-Key (Stripe semantics). The key is unique per caller; the stored
// response is replayed, a different body for the same key is refused.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE idempotency_keys (
      principal       text NOT NULL,
      key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
      method          text NOT NULL,
      path            text NOT NULL,
      request_hash    text NOT NULL,
      response_status smallint,
      response_body   jsonb,
      created_at      timestamptz NOT NULL DEFAULT now(),
      locked_until    timestamptz,
      completed_at    timestamptz,
      PRIMARY KEY (principal, key)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE idempotency_keys;');
}
