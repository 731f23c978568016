import type { Knex } from 'knex';

// Opaque ids: a type prefix and 128 random bits, generated in SQL so set-based inserts need no app round trip.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION new_id(prefix text) RETURNS text
    LANGUAGE sql VOLATILE AS $$ SELECT prefix || '_' || replace(gen_random_uuid()::text, '-', '') $$;

    -- Append-only tables attach this trigger: history is corrected by new rows, never edited.
    CREATE FUNCTION forbid_update_or_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001';
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION forbid_update_or_delete(); DROP FUNCTION new_id(text);');
}
