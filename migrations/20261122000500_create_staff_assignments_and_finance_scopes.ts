import type { Knex } from 'knex';

// Who works where: school staff roles (school-scoped) and finance officers' scopes (cross-school).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE staff_assignments (
      school_id            text NOT NULL REFERENCES schools (id),
      id                   text NOT NULL DEFAULT new_id('stf'),
      person_id            text NOT NULL REFERENCES people (id),
      role                 text NOT NULL CHECK (role IN ('accountant', 'school_admin')),
      assigned_at          timestamptz NOT NULL DEFAULT now(),
      assigned_by          text REFERENCES people (id),
      revoked_at           timestamptz,
      revoked_by           text REFERENCES people (id),
      PRIMARY KEY (school_id, id)
    );
    CREATE UNIQUE INDEX staff_assignments_one_active ON staff_assignments (school_id, person_id, role) WHERE revoked_at IS NULL;
    CREATE INDEX staff_assignments_person_idx ON staff_assignments (person_id) WHERE revoked_at IS NULL;

    -- district_id NULL means the whole city.
    CREATE TABLE finance_scopes (
      id          text PRIMARY KEY DEFAULT new_id('fin'),
      person_id   text NOT NULL REFERENCES people (id),
      city_id     text NOT NULL REFERENCES cities (id),
      district_id text REFERENCES districts (id),
      granted_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz
    );
    CREATE UNIQUE INDEX finance_scopes_one_active ON finance_scopes (person_id, city_id, coalesce(district_id, ''))
      WHERE revoked_at IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE finance_scopes; DROP TABLE staff_assignments;');
}
