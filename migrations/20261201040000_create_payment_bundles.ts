import type { Knex } from 'knex';

// Combined payments (issue 6): a guardian chooses open invoices of several of their wards at one
// school and pays them with one transfer, under one code. The bundle and its allocation plan are
// frozen when it is created (insert-only), so the order in which money is spread across the
// children is the one shown before paying. A bank transfer naming the bundle's code becomes ONE
// payment (one per bank event, as always), allocated across the children's invoices in plan order.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE payment_bundles (
      school_id          text NOT NULL REFERENCES schools (id),
      id                 text NOT NULL DEFAULT new_id('pbd'),
      -- In the bundle namespace of payment codes (check sum 16 mod 32), so never an invoice's code.
      code               text NOT NULL CHECK (code ~ '^[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{10}$'),
      guardian_person_id text NOT NULL REFERENCES people (id),
      -- The plan's first child: the payment is recorded for them, and any surplus is their credit.
      owner_person_id    text NOT NULL REFERENCES people (id),
      total_vnd          bigint NOT NULL CHECK (total_vnd > 0),
      created_at         timestamptz NOT NULL,
      PRIMARY KEY (school_id, id),
      UNIQUE (school_id, code)
    );
    -- GET /v1/me/payment-bundles/{id} has only the id (plain index, as for invoices).
    CREATE INDEX payment_bundles_id_idx ON payment_bundles (id);

    CREATE TABLE payment_bundle_items (
      school_id   text NOT NULL,
      bundle_id   text NOT NULL,
      position    smallint NOT NULL CHECK (position >= 1),
      invoice_id  text NOT NULL,
      person_id   text NOT NULL REFERENCES people (id),
      -- What the invoice still asked when the bundle was made.
      planned_vnd bigint NOT NULL CHECK (planned_vnd > 0),
      PRIMARY KEY (school_id, bundle_id, position),
      UNIQUE (school_id, bundle_id, invoice_id),
      FOREIGN KEY (school_id, bundle_id) REFERENCES payment_bundles (school_id, id),
      FOREIGN KEY (school_id, invoice_id) REFERENCES invoices (school_id, id)
    );

    CREATE TRIGGER payment_bundles_append_only BEFORE UPDATE OR DELETE ON payment_bundles FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
    CREATE TRIGGER payment_bundle_items_append_only BEFORE UPDATE OR DELETE ON payment_bundle_items FOR EACH ROW EXECUTE FUNCTION forbid_update_or_delete();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE payment_bundle_items, payment_bundles;');
}
