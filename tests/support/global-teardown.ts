import pg from 'pg';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.TEST_ADMIN_URL;
  if (adminUrl && !globalThis.__EMBEDDED_PG__) {
    // A shared server: remove what this run created.
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      for (const name of [process.env.TEST_TEMPLATE_MIGRATED, process.env.TEST_TEMPLATE_SEEDED]) {
        if (name) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }
    } finally {
      await admin.end();
    }
  }
  await globalThis.__EMBEDDED_PG__?.stop();
}
