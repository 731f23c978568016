import type { Knex } from 'knex';

// OpenID Connect login state (state, PKCE verifier, nonce) lives in the database so any replica can
// finish a sign-in another replica started, and each state is used once.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sign_in_requests (
      state         text PRIMARY KEY,
      code_verifier text NOT NULL,
      nonce         text NOT NULL,
      created_at    timestamptz NOT NULL DEFAULT now(),
      expires_at    timestamptz NOT NULL,
      consumed_at   timestamptz
    );
    CREATE INDEX sign_in_requests_expiry_idx ON sign_in_requests (expires_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE sign_in_requests;');
}
