import type { Knex } from 'knex';

// Fee items, fee plans with effective-dated versions, the school calendar and voluntary items.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE fee_items (
      school_id     text NOT NULL REFERENCES schools (id),
      id            text NOT NULL DEFAULT new_id('fee'),
      code          text NOT NULL CHECK (code ~ '^[A-Z0-9_]{2,40}$'),
      name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      unit          text NOT NULL CHECK (unit IN ('month', 'school_day', 'term', 'year', 'one_off')),
      document_kind text NOT NULL CHECK (document_kind IN ('receipt', 'e_invoice', 'none')),
      exemptible    boolean NOT NULL,
      optional      boolean NOT NULL,
      revenue_code  text NOT NULL CHECK (length(revenue_code) BETWEEN 1 AND 40),
      created_at    timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      UNIQUE (school_id, code)
    );

    -- A plan prices items for one grade (or one class) of one academic year.
    CREATE TABLE fee_plans (
      school_id        text NOT NULL REFERENCES schools (id),
      id               text NOT NULL DEFAULT new_id('plan'),
      academic_year_id text NOT NULL REFERENCES academic_years (id),
      grade            smallint NOT NULL CHECK (grade BETWEEN 1 AND 12),
      class_id         text,
      name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      created_at       timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, class_id) REFERENCES classes (school_id, id)
    );
    CREATE UNIQUE INDEX fee_plans_one_per_scope ON fee_plans (school_id, academic_year_id, grade, coalesce(class_id, ''));

    -- Versions take effect from a date until the next version's date. A version that an invoice
    -- references is locked (locked_at set in the generating transaction) and never changes again.
    CREATE TABLE fee_plan_versions (
      school_id      text NOT NULL,
      id             text NOT NULL DEFAULT new_id('planv'),
      plan_id        text NOT NULL,
      version        integer NOT NULL CHECK (version >= 1),
      effective_from date NOT NULL,
      locked_at      timestamptz,
      created_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, plan_id) REFERENCES fee_plans (school_id, id),
      UNIQUE (school_id, plan_id, version),
      UNIQUE (school_id, plan_id, effective_from)
    );

    CREATE TABLE fee_plan_version_items (
      school_id   text NOT NULL,
      version_id  text NOT NULL,
      fee_item_id text NOT NULL,
      amount_vnd  bigint NOT NULL CHECK (amount_vnd >= 0),
      PRIMARY KEY (school_id, version_id, fee_item_id),
      FOREIGN KEY (school_id, version_id) REFERENCES fee_plan_versions (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id)
    );

    -- The school calendar: one row per day the school is open.
    CREATE TABLE school_days (
      school_id text NOT NULL REFERENCES schools (id),
      day       date NOT NULL,
      PRIMARY KEY (school_id, day)
    );

    -- Voluntary items (clubs, native-speaker English) apply only to students enrolled in them.
    CREATE TABLE optional_item_enrollments (
      school_id   text NOT NULL,
      id          text NOT NULL DEFAULT new_id('opt'),
      person_id   text NOT NULL REFERENCES people (id),
      fee_item_id text NOT NULL,
      from_on     date NOT NULL,
      to_on       date,
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, fee_item_id) REFERENCES fee_items (school_id, id),
      UNIQUE (school_id, person_id, fee_item_id, from_on),
      CHECK (to_on IS NULL OR to_on >= from_on)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE optional_item_enrollments, school_days, fee_plan_version_items, fee_plan_versions, fee_plans, fee_items;');
}
