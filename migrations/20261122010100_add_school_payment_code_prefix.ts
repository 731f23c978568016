import type { Knex } from 'knex';

// Payment codes are unique across all schools without a cross-school unique index: each school owns
// a unique three-symbol prefix, and codes are unique within the school (invoices migration).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION new_payment_code_prefix() RETURNS char(3)
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      alphabet constant text := '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';
      candidate text;
    BEGIN
      LOOP
        candidate := '';
        FOR i IN 1..3 LOOP
          candidate := candidate || substr(alphabet, 1 + floor(random() * 32)::int, 1);
        END LOOP;
        EXIT WHEN NOT EXISTS (SELECT 1 FROM schools WHERE payment_code_prefix = candidate);
      END LOOP;
      RETURN candidate;
    END $$;

    ALTER TABLE schools ADD COLUMN payment_code_prefix char(3) DEFAULT new_payment_code_prefix();
    UPDATE schools SET payment_code_prefix = DEFAULT WHERE payment_code_prefix IS NULL;
    ALTER TABLE schools ALTER COLUMN payment_code_prefix SET NOT NULL;
    ALTER TABLE schools ADD CONSTRAINT schools_payment_code_prefix_key UNIQUE (payment_code_prefix);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('ALTER TABLE schools DROP COLUMN payment_code_prefix; DROP FUNCTION new_payment_code_prefix();');
}
