import type { Knex } from 'knex';

// The school is the tenant: every school-scoped table leads its keys with school_id (DESIGN.md 3).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE schools (
      id          text PRIMARY KEY DEFAULT new_id('sch'),
      code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_-]{2,40}$'),
      name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      level       text NOT NULL CHECK (level IN ('primary', 'lower_secondary', 'upper_secondary', 'multi_level')),
      district_id text NOT NULL REFERENCES districts (id),
      tax_code    text NOT NULL CHECK (tax_code ~ '^[0-9]{10}([0-9]{3}){0,1}$'),
      address     text NOT NULL CHECK (length(address) BETWEEN 1 AND 500),
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX schools_district_idx ON schools (district_id);

    CREATE TABLE classes (
      school_id        text NOT NULL REFERENCES schools (id),
      id               text NOT NULL DEFAULT new_id('cls'),
      academic_year_id text NOT NULL REFERENCES academic_years (id),
      grade            smallint NOT NULL CHECK (grade BETWEEN 1 AND 12),
      name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 50),
      created_at       timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      UNIQUE (school_id, academic_year_id, name)
    );

    CREATE TABLE enrollments (
      school_id   text NOT NULL REFERENCES schools (id),
      id          text NOT NULL DEFAULT new_id('enr'),
      class_id    text NOT NULL,
      person_id   text NOT NULL REFERENCES people (id),
      enrolled_on date NOT NULL,
      left_on     date,
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (school_id, id),
      FOREIGN KEY (school_id, class_id) REFERENCES classes (school_id, id),
      UNIQUE (school_id, class_id, person_id),
      CHECK (left_on IS NULL OR left_on >= enrolled_on)
    );
    -- A student is in at most one class of a school at a time.
    CREATE UNIQUE INDEX enrollments_one_open_per_school ON enrollments (school_id, person_id) WHERE left_on IS NULL;
    CREATE INDEX enrollments_person_idx ON enrollments (person_id);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE enrollments; DROP TABLE classes; DROP TABLE schools;');
}
