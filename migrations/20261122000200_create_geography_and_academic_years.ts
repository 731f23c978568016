import type { Knex } from 'knex';

// Cross-school reference data: cities, districts, academic years. None of these references a school.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE cities (
      id   text PRIMARY KEY DEFAULT new_id('city'),
      code text NOT NULL UNIQUE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200)
    );

    CREATE TABLE districts (
      id      text PRIMARY KEY DEFAULT new_id('dst'),
      city_id text NOT NULL REFERENCES cities (id),
      code    text NOT NULL,
      name    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      UNIQUE (city_id, code)
    );

    CREATE TABLE academic_years (
      id        text PRIMARY KEY DEFAULT new_id('ay'),
      code      text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{4}-[0-9]{4}$'),
      starts_on date NOT NULL,
      ends_on   date NOT NULL,
      CHECK (ends_on > starts_on)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE academic_years; DROP TABLE districts; DROP TABLE cities;');
}
