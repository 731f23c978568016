import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import pg from 'pg';
import { createDb } from '../../src/db/knex';

/** A fresh database for one test file, cloned from a template prepared by the global setup. */
export interface TestDatabase {
  url: string;
  db: Knex;
  drop(): Promise<void>;
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: process.env.TEST_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export async function createTestDatabase(options: { seeded?: boolean } = {}): Promise<TestDatabase> {
  const template = options.seeded ? process.env.TEST_TEMPLATE_SEEDED : process.env.TEST_TEMPLATE_MIGRATED;
  if (!template || !process.env.TEST_ADMIN_URL) throw new Error('global setup did not run');
  const name = `test_${randomBytes(6).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`);
      break;
    } catch (e) {
      // Two files cloning the same template at once: PostgreSQL says the source is in use; retry.
      if ((e as { code?: string }).code !== '55006' || attempt > 20) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  const url = new URL(process.env.TEST_ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), 10);
  return {
    url: url.toString(),
    db,
    drop: async () => {
      await db.destroy();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
