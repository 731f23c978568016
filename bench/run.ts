import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { createDb } from '../src/db/knex';
import { migrateToLatest } from '../src/db/migrate';
import { createLogger } from '../src/logger';
import { seedDemoData } from '../seeds/demo-data';
import { asBenchmark, type Benchmark, type Figures, measureCopy, measurePgbench, yardstickOf, type Yardsticks } from './harness';

/**
 * `npm run bench [-- name ...]`: every benchmark in bench/ (each `<name>.bench.ts`, discovered)
 * against a scratch database (embedded PostgreSQL, or a new database on the DATABASE_URL server).
 * The database's yardsticks are measured first, in the same run: pgbench TPS when a write path
 * runs, the raw COPY rate when a bulk path runs. Prints a line per figure and, last, one JSON
 * object: `yardsticks`, then per benchmark its figures with `yardstick` and `ratio` beside them.
 * See bench/README.md.
 */

/** Order of the known benchmarks (others follow alphabetically): cheap reads first, the long load last. */
const ORDER = ['api', 'invoices', 'receipts', 'reconciliation', 'reports', 'callbacks'];

async function discover(): Promise<Benchmark[]> {
  const names = readdirSync(__dirname)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
    .sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const found: Benchmark[] = [];
  for (const name of names) {
    const benchmark = asBenchmark(name, (await import(path.join(__dirname, `${name}.bench.ts`))) as Record<string, unknown>);
    if (!benchmark) throw new Error(`bench/${name}.bench.ts exports neither \`benchmark\` nor a function bench<Name>`);
    found.push(benchmark);
  }
  return found;
}

async function scratchDatabase(): Promise<{ databaseUrl: string; kind: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) {
    const name = `bench_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(process.env.DATABASE_URL);
    u.pathname = `/${name}`;
    return {
      databaseUrl: u.toString(),
      kind: 'server',
      stop: async () => {
        const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fees-bench-'));
  // BENCH_PG_STATS=1: load pg_stat_statements, and the callbacks benchmark prints where the database's time went.
  const settings = process.env.BENCH_PG_STATS ? ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'] : [];
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), database: 'bench', persistent: false, settings });
  return { databaseUrl: embedded.databaseUrl, kind: 'embedded', stop: () => embedded.stop() };
}

async function main(): Promise<void> {
  const wanted = new Set(process.argv.slice(2));
  const all = await discover();
  const unknown = [...wanted].filter((w) => !all.some((b) => b.name === w));
  if (unknown.length > 0) throw new Error(`no benchmark named ${unknown.join(', ')} (found: ${all.map((b) => b.name).join(', ')})`);
  const selected = all.filter((b) => wanted.size === 0 || wanted.has(b.name));
  const seconds = Number(process.env.BENCH_SECONDS ?? 30);

  // Each benchmark gets a database of its own (migrated and seeded), so one's data (a month already
  // billed, receipts already issued) cannot break another's; the yardsticks are measured once.
  const first = await scratchDatabase();
  const summary: Record<string, unknown> = { database: first.kind, benchmarks: selected.map((b) => b.name) };
  try {
    const yardsticks: Yardsticks = {};
    if (selected.some((b) => b.kind === 'write')) {
      yardsticks.pgbench_tps = await measurePgbench(first.databaseUrl, seconds);
      console.log(`yardstick: pgbench ${yardsticks.pgbench_tps} tps (-M prepared -c 8 -j 2 -T ${seconds}, scale 20)`);
    }
    if (selected.some((b) => b.kind === 'bulk')) {
      yardsticks.copy_rows_per_s = await measureCopy(first.databaseUrl);
      console.log(`yardstick: COPY ${yardsticks.copy_rows_per_s} rows/s (500,000 invoice-line-shaped rows with a primary key)`);
    }
    summary.yardsticks = yardsticks;

    for (const [n, benchmark] of selected.entries()) {
      const scratch = n === 0 ? first : await scratchDatabase();
      const db = createDb(scratch.databaseUrl, 20);
      try {
        const t0 = performance.now();
        await migrateToLatest(db);
        await seedDemoData(db);
        if (n === 0) {
          summary.seed_ms = Math.round(performance.now() - t0);
          console.log(`seed: migrate + seed ${summary.seed_ms} ms`);
        }
        const started = performance.now();
        let figures: Figures;
        try {
          figures = await benchmark.run({ db, databaseUrl: scratch.databaseUrl, logger: createLogger('silent'), seconds, yardsticks });
        } catch (err) {
          // One benchmark failing does not cost the others their figures: the summary says which failed, and the run exits 1.
          console.error(`${benchmark.name}: failed`, err);
          summary[benchmark.name] = { error: err instanceof Error ? err.message : String(err), wall_s: +((performance.now() - started) / 1000).toFixed(1) };
          process.exitCode = 1;
          continue;
        }
        const yardstick = yardstickOf(benchmark.kind);
        const rateName = benchmark.rate || Object.keys(figures).find((k) => k.endsWith('_per_s')) || '';
        const rate = Number(figures[rateName]);
        const beside: Figures = yardstick && yardsticks[yardstick] && Number.isFinite(rate) ? { yardstick, [yardstick]: yardsticks[yardstick]!, ratio: +(rate / yardsticks[yardstick]!).toFixed(3) } : {};
        summary[benchmark.name] = { ...figures, ...(rateName ? { rate: rateName } : {}), ...beside, wall_s: +((performance.now() - started) / 1000).toFixed(1) };
      } finally {
        await db.destroy();
        if (n > 0) await scratch.stop();
      }
    }
  } finally {
    await first.stop();
  }
  console.log(JSON.stringify(summary));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
