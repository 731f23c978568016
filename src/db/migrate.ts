import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';

/**
 * Migrations live in the top-level `migrations/` folder (compiled to `dist/migrations/` for
 * production). Names are recorded without extension so the .ts and .js forms are the same migration.
 */
const MIGRATIONS_DIR = path.resolve(__dirname, '../../migrations');

interface MigrationModule {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

function migrationFiles(): string[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'))
    .sort();
}

const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => migrationFiles(),
  getMigrationName: (file) => file.replace(/\.(ts|js)$/, ''),
  // require (not import()) so the same code loads .ts under tsx/ts-jest and .js once compiled.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  getMigration: async (file) => require(path.join(MIGRATIONS_DIR, file)) as MigrationModule,
};

const MIGRATION_CONFIG: Knex.MigratorConfig = { migrationSource, tableName: 'knex_migrations' };

/** Brings the schema to the latest migration; returns the names applied now. */
export async function migrateToLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest(MIGRATION_CONFIG)) as [number, string[]];
  return applied;
}

/** The migration names this build knows, in order. */
export function knownMigrations(): string[] {
  return migrationFiles().map((f) => f.replace(/\.(ts|js)$/, ''));
}

/** True when every migration this build knows has been applied. */
export async function migrationsAreCurrent(db: Knex): Promise<boolean> {
  const rows = await db('knex_migrations').select<{ name: string }[]>('name');
  const applied = new Set(rows.map((r) => r.name));
  return knownMigrations().every((name) => applied.has(name));
}
