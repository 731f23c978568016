import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';

/**
 * What `npm run bench` hands every benchmark, and what a benchmark file exports. A file
 * `bench/<name>.bench.ts` is discovered by bench/run.ts; it exports either `benchmark` (this
 * interface) or, in the older style, a function `bench<Name>(db, databaseUrl, logger)` returning
 * its figures (taken as a write path, compared with pgbench through its first `*_per_s` figure).
 */
export type Figures = Record<string, number | string>;

/** The database's own yardsticks, measured once per run on the same server. */
export interface Yardsticks {
  /** pgbench TPC-B-like TPS (`-M prepared -c 8 -j 2`, scale 20): what a write path is compared with. */
  pgbench_tps?: number;
  /** Rows per second a raw `COPY ... FROM STDIN` (psql \copy) writes into an invoice-line-shaped table with its primary key: what a bulk path is compared with. */
  copy_rows_per_s?: number;
}

export interface BenchContext {
  db: Knex;
  databaseUrl: string;
  logger: Logger;
  /** BENCH_SECONDS (default 30): how long timed load runs. */
  seconds: number;
  yardsticks: Yardsticks;
}

export interface Benchmark {
  name: string;
  /** `write`: compared with pgbench TPS; `bulk`: with the COPY rate; `read`: no yardstick. */
  kind: 'write' | 'bulk' | 'read';
  /** The figure (a rate per second) set beside the yardstick. */
  rate: string;
  run(ctx: BenchContext): Promise<Figures>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withScratchDatabase<T>(databaseUrl: string, suffix: string, use: (url: string) => Promise<T> | T): Promise<T> {
  const name = `${new URL(databaseUrl).pathname.slice(1)}_${suffix}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    return await use(withDatabase(databaseUrl, name));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** pgbench on a database of its own, so its tables do not touch ours. */
export async function measurePgbench(databaseUrl: string, seconds: number): Promise<number> {
  return withScratchDatabase(databaseUrl, 'pgbench', (url) => {
    const env = { ...process.env, PGCONNECT_TIMEOUT: '10' };
    execFileSync('pgbench', ['-i', '-q', '-s', '20', url], { env, stdio: 'pipe' });
    const out = execFileSync('pgbench', ['-M', 'prepared', '-c', '8', '-j', '2', '-T', String(seconds), url], { env, stdio: 'pipe' }).toString();
    const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(out) ?? /tps = ([\d.]+)/.exec(out);
    if (!match) throw new Error(`pgbench printed no tps:\n${out}`);
    return Math.round(Number(match[1]));
  });
}

/**
 * Raw COPY rate: 500,000 rows shaped like invoice lines (text ids, a bigint amount, a timestamp)
 * into a table with a text primary key, through psql's \copy, timed around the command alone.
 */
export async function measureCopy(databaseUrl: string, rows = 500_000): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fees-copy-'));
  const file = path.join(dir, 'rows.csv');
  const hex = (n: number, salt: string) => `${salt}${n.toString(16).padStart(32 - salt.length, '0')}`;
  const lines: string[] = [];
  for (let n = 0; n < rows; n++) lines.push(`line_${hex(n, 'c')},sch_${hex(1, 'a')},inv_${hex(Math.floor(n / 5), 'b')},fee_${hex(n % 5, 'd')},${35000 + (n % 7) * 1000},2030-10-01T00:00:00Z`);
  writeFileSync(file, lines.join('\n') + '\n');
  try {
    return await withScratchDatabase(databaseUrl, 'copy', (url) => {
      execFileSync('psql', [url, '-q', '-c', 'CREATE TABLE copy_yardstick (id text PRIMARY KEY, school_id text NOT NULL, invoice_id text NOT NULL, fee_item_id text NOT NULL, amount_vnd bigint NOT NULL, created_at timestamptz NOT NULL)'], { stdio: 'pipe' });
      const started = performance.now();
      execFileSync('psql', [url, '-q', '-c', `\\copy copy_yardstick FROM '${file}' WITH (FORMAT csv)`], { stdio: 'pipe' });
      return Math.round(rows / ((performance.now() - started) / 1000));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The yardstick a kind of benchmark is compared with. */
export function yardstickOf(kind: Benchmark['kind']): keyof Yardsticks | null {
  return kind === 'write' ? 'pgbench_tps' : kind === 'bulk' ? 'copy_rows_per_s' : null;
}

/** A module of bench/ as a Benchmark: its `benchmark` export, or an older `bench<Name>` function. */
export function asBenchmark(name: string, mod: Record<string, unknown>): Benchmark | null {
  if (mod.benchmark && typeof mod.benchmark === 'object') return mod.benchmark as Benchmark;
  const fnName = `bench${name.replace(/(^|[-_])([a-z])/g, (_m, _s, c: string) => c.toUpperCase())}`;
  const fn = mod[fnName];
  if (typeof fn !== 'function') return null;
  return {
    name,
    kind: 'write',
    rate: '',
    run: async (ctx) => (await (fn as (db: Knex, url: string, logger: Logger) => Promise<Figures>)(ctx.db, ctx.databaseUrl, ctx.logger)) ?? {},
  };
}
