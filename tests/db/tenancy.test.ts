import { createTestDatabase, type TestDatabase } from '../support/test-db';

/**
 * DESIGN.md 3: a school-scoped table carries school_id NOT NULL and leads its primary key, unique
 * constraints and foreign keys to other school-scoped tables with it; cross-school tables never
 * reference school-scoped ones (nor the schools table itself). This reads the live catalog, so a
 * new migration that breaks the rule fails here.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const TENANT_ROOT = 'schools';
const IGNORED = new Set(['knex_migrations', 'knex_migrations_lock']);

interface Constraint {
  table: string;
  name: string;
  type: 'p' | 'u' | 'f';
  columns: string[] | string;
  referenced: string | null;
}

async function catalog() {
  const tables = await database.db.raw<{ rows: { table: string; has_school_id: boolean; school_id_not_null: boolean }[] }>(`
    SELECT c.relname AS table,
           bool_or(a.attname = 'school_id') AS has_school_id,
           bool_or(a.attname = 'school_id' AND a.attnotnull) AS school_id_not_null
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
    GROUP BY c.relname`);
  const constraints = await database.db.raw<{ rows: Constraint[] }>(`
    SELECT t.relname AS table, con.conname AS name, con.contype AS type,
           array_agg(a.attname::text ORDER BY k.ord) AS columns, r.relname AS referenced
    FROM pg_constraint con
    JOIN pg_class t ON t.oid = con.conrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    LEFT JOIN pg_class r ON r.oid = con.confrelid
    JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) ON true
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f')
    GROUP BY t.relname, con.conname, con.contype, r.relname`);
  const uniqueIndexes = await database.db.raw<{ rows: { table: string; name: string; definition: string }[] }>(`
    SELECT t.relname AS table, i.relname AS name, pg_get_indexdef(ix.indexrelid) AS definition
    FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND ix.indisunique AND NOT ix.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)`);
  return { tables: tables.rows.filter((t) => !IGNORED.has(t.table)), constraints: constraints.rows, uniqueIndexes: uniqueIndexes.rows };
}

function columnsOf(c: Constraint): string[] {
  return Array.isArray(c.columns) ? c.columns : String(c.columns).replace(/[{}]/g, '').split(',');
}

async function findTenancyViolations(): Promise<{ scoped: Set<string>; violations: string[] }> {
  const { tables, constraints, uniqueIndexes } = await catalog();
  const scoped = new Set(tables.filter((t) => t.has_school_id).map((t) => t.table));
  const violations: string[] = [];
  for (const t of tables.filter((t) => t.has_school_id)) {
    if (!t.school_id_not_null) violations.push(`${t.table}.school_id is nullable`);
  }
  for (const c of constraints) {
    const columns = columnsOf(c);
    if (scoped.has(c.table) && (c.type === 'p' || c.type === 'u') && columns[0] !== 'school_id') {
      violations.push(`${c.table}: ${c.name} does not lead with school_id`);
    }
    if (c.type === 'f' && c.referenced && scoped.has(c.referenced)) {
      if (!scoped.has(c.table)) violations.push(`cross-school table ${c.table} references school-scoped ${c.referenced}`);
      else if (columns[0] !== 'school_id') violations.push(`${c.table}: ${c.name} references ${c.referenced} without leading school_id`);
    }
    if (c.type === 'f' && c.referenced === TENANT_ROOT && !scoped.has(c.table)) {
      violations.push(`cross-school table ${c.table} references schools`);
    }
  }
  for (const ix of uniqueIndexes) {
    if (scoped.has(ix.table) && !/\(school_id[,)]/.test(ix.definition)) violations.push(`${ix.table}: unique index ${ix.name} does not lead with school_id`);
  }
  return { scoped, violations };
}

describe('tenancy rule (school_id in every school-scoped key)', () => {
  test('school-scoped tables lead their keys with school_id and reference each other through it', async () => {
    const { scoped, violations } = await findTenancyViolations();
    expect([...scoped]).toEqual(expect.arrayContaining(['classes', 'enrollments', 'staff_assignments', 'audit_events']));
    expect(violations).toEqual([]);
  });

  test('the check catches a table that breaks the rule', async () => {
    await database.db.raw(`
      CREATE TABLE broken_scoped (id text PRIMARY KEY, school_id text REFERENCES schools (id), class_id text);
      CREATE TABLE broken_cross (id text PRIMARY KEY, school_id_ref text REFERENCES schools (id));`);
    try {
      const { violations } = await findTenancyViolations();
      expect(violations).toEqual(expect.arrayContaining([
        'broken_scoped.school_id is nullable',
        'broken_scoped: broken_scoped_pkey does not lead with school_id',
        'cross-school table broken_cross references schools',
      ]));
    } finally {
      await database.db.raw('DROP TABLE broken_scoped, broken_cross');
    }
  });
});
