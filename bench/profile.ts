import { readFileSync } from 'node:fs';
import type { Knex } from 'knex';
import pg from 'pg';

/**
 * Objective measures for a timed load, which a busy machine does not distort the way it distorts
 * rates: how many statements the service sent to PostgreSQL (each one a round trip), and how much
 * CPU the server's event loop and the database's backends spent. Divided by the requests served,
 * they say what one request costs wherever it runs.
 */

/** Ticks of /proc's utime and stime per second (USER_HZ; 100 on Linux). */
const TICKS_PER_S = 100;

/** utime + stime of a thread or process from /proc, in ms; 0 when it is gone or unreadable. */
function procCpuMs(statPath: string): number {
  try {
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th field, stime the 15th.
    const stat = readFileSync(statPath, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** CPU of this process's main thread (the server's event loop; not the load generator's worker thread, nor GC helpers). */
export const mainThreadCpuMs = () => procCpuMs(`/proc/${process.pid}/task/${process.pid}/stat`);

/** CPU of every backend connected to the database `db` uses (the pool's connections), summed. */
export async function backendCpuMs(db: Knex): Promise<Map<number, number>> {
  // Client backends only: an autovacuum worker that happens to be on the database is not the
  // service's work. The backend asking counts too: leaving it out of one reading would count all
  // its past work (an ANALYZE, the warm-up) in the other.
  const { rows } = await db.raw<{ rows: { pid: number }[] }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`);
  return new Map(rows.map((r) => [r.pid, procCpuMs(`/proc/${r.pid}/stat`)]));
}

/** Backend CPU spent between two readings (a backend that started in between counts from 0). */
export const backendCpuSpent = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);

export interface StatementCount {
  /** Query strings sent: each one a round trip. */
  total: number;
  /** Statements in them (a pipelined query string holds several, separated by `;` and a newline). */
  statements: number;
  /** By the statement's first word (BEGIN, COMMIT, SELECT, INSERT, WITH, UPDATE, ...). */
  byKind: Record<string, number>;
  /** By the statement's first 70 characters: how many, and the ms from sending to the answer (round trip, queueing and execution). */
  byText: Record<string, { n: number; ms: number }>;
}

/**
 * Counts every statement any pg client of this process sends while `counting` is on (knex sends
 * BEGIN and COMMIT as statements too). Patches pg.Client once; returns the counter.
 */
export function countStatements(explain?: { match: RegExp; plans: string[] }): { start: () => void; stop: () => StatementCount } {
  let counting = false;
  let count: StatementCount = { total: 0, statements: 0, byKind: {}, byText: {} };
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown; __counted?: boolean };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (counting) {
      const first = args[0];
      const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
      const kind = (/^\s*(\w+)/.exec(text)?.[1] ?? '?').toUpperCase();
      count.total++;
      count.statements += text.split(';\n').length;
      count.byKind[kind] = (count.byKind[kind] ?? 0) + 1;
      // One query string (sent without parameters) that matches is run under EXPLAIN ANALYZE: it
      // still does its work; its first statement's plan, with the time spent in each trigger
      // (foreign keys, the ledger's balance check), is kept instead of its rows.
      if (explain && explain.plans.length === 0 && typeof first === 'string' && explain.match.test(first) && typeof args[args.length - 1] !== 'function') {
        const answer = original.apply(this, [`EXPLAIN (ANALYZE, BUFFERS, VERBOSE false) ${first}`, ...args.slice(1)]) as Promise<{ rows?: Record<string, string>[] } | { rows?: Record<string, string>[] }[]>;
        explain.plans.push('(pending)');
        void answer.then((r) => (explain.plans[0] = ((Array.isArray(r) ? r[0] : r)?.rows ?? []).map((row) => Object.values(row)[0]).join('\n')), () => undefined);
        count.total++;
        count.statements += first.split(';\n').length;
        return answer;
      }
      const label = text.replace(/\s+/g, ' ').trim().slice(0, 70);
      const entry = (count.byText[label] ??= { n: 0, ms: 0 });
      entry.n++;
      const callback = args[args.length - 1];
      const sent = performance.now();
      if (typeof callback === 'function') {
        args[args.length - 1] = (...result: unknown[]) => {
          entry.ms += performance.now() - sent;
          return (callback as (...a: unknown[]) => unknown)(...result);
        };
      } else {
        const answer = original.apply(this, args);
        if (answer instanceof Promise) void answer.then(() => (entry.ms += performance.now() - sent), () => (entry.ms += performance.now() - sent));
        return answer;
      }
    }
    return original.apply(this, args);
  };
  return {
    start: () => {
      count = { total: 0, statements: 0, byKind: {}, byText: {} };
      counting = true;
    },
    stop: () => {
      counting = false;
      proto.query = original;
      return count;
    },
  };
}

/**
 * A CPU profile of this process's main thread (`node:inspector`), written to `file` as a
 * `.cpuprofile` (Chrome DevTools, speedscope) when `stop` is called; nothing when `file` is unset.
 */
export async function cpuProfile(file: string | undefined): Promise<{ stop: () => Promise<void> }> {
  if (!file) return { stop: async () => {} };
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
