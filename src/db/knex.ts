import knex, { type Knex } from 'knex';
import pg from 'pg';

// bigint (int8) columns hold money in dong; keep pg's string form and convert in src/lib/money.ts,
// never through a float. Dates stay 'YYYY-MM-DD' strings: business dates are not instants.
pg.types.setTypeParser(pg.types.builtins.DATE, (value: string) => value);

export type Db = Knex | Knex.Transaction;

export function createDb(databaseUrl: string, poolMax = 10): Knex {
  return knex({
    client: 'pg',
    connection: { connectionString: databaseUrl, application_name: 'school-fees' },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10000,
  });
}
