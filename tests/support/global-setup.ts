import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { createDb } from '../../src/db/knex';
import { migrateToLatest } from '../../src/db/migrate';
import { seedDemoData } from '../../seeds/demo-data';

/**
 * One PostgreSQL for the whole run: embedded unless DATABASE_URL is set. Two template databases
 * are prepared once (migrated; migrated and seeded with demo data); every test file clones its
 * own database from one of them (tests/support/test-db.ts).
 */
declare global {
  var __EMBEDDED_PG__: { stop(): Promise<void> } | undefined;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'school-fees-test-'));
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'postgres'),
      database: 'postgres',
      persistent: false,
    });
    globalThis.__EMBEDDED_PG__ = embedded;
    adminUrl = embedded.adminUrl;
  }

  const suffix = `${process.pid}_${Date.now().toString(36)}`;
  const migrated = `tmpl_migrated_${suffix}`;
  const seeded = `tmpl_seeded_${suffix}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${migrated}`);
    await admin.query(`CREATE DATABASE ${seeded}`);
  } finally {
    await admin.end();
  }
  for (const [name, seed] of [[migrated, false], [seeded, true]] as const) {
    const db = createDb(withDatabase(adminUrl, name), 2);
    try {
      await migrateToLatest(db);
      if (seed) await seedDemoData(db);
    } finally {
      await db.destroy();
    }
  }

  process.env.TEST_ADMIN_URL = adminUrl;
  process.env.TEST_TEMPLATE_MIGRATED = migrated;
  process.env.TEST_TEMPLATE_SEEDED = seeded;
  console.log(`\n[tests] PostgreSQL ${process.env.DATABASE_URL ? 'from DATABASE_URL' : 'embedded'}, templates ready in ${Date.now() - started} ms`);
}
