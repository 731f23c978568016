import type { Knex } from 'knex';
import pg from 'pg';
// pg's own conversion of a parameter to the text it sends (arrays to array literals, dates with
// their offset, objects to JSON), so a value written in as a literal reads exactly as a parameter would.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => string | Buffer | null };
import type { Fragment } from './unnest';

const { escapeLiteral } = pg;

/**
 * A transaction that sends several statements per round trip. node-postgres sends one statement at a
 * time and waits for its answer, and a parameterized statement travels alone (extended protocol);
 * a hot path whose transaction is BEGIN, four statements and COMMIT pays six round trips, each a
 * wake-up of the server's backend and of this event loop. Here the statements go as one
 * simple-protocol query string, values written in as quoted literals: BEGIN with the first
 * statements, the last statement with COMMIT.
 *
 * PostgreSQL runs the statements of one query string in order, each with its own snapshot (READ
 * COMMITTED), exactly as if sent one by one; after an error it skips the rest of the string and the
 * transaction is aborted, so `run` rolls it back. Only values the caller's own code produced are
 * written in; a value that cannot be written as a literal (a NUL character, a nested array) throws
 * before anything is sent.
 */
export class PipelinedTransaction {
  private state: 'idle' | 'open' | 'done' = 'idle';

  private constructor(private readonly conn: pg.Client) {}

  /** Runs `work` on a pooled connection; rolls back if it throws or returns without committing. */
  static async run<T>(db: Knex, work: (tx: PipelinedTransaction) => Promise<T>): Promise<T> {
    const conn = (await db.client.acquireConnection()) as pg.Client & { __knex__disposed?: unknown };
    const tx = new PipelinedTransaction(conn);
    try {
      const result = await work(tx);
      if (tx.state === 'open') throw new Error('pipelined transaction returned without committing');
      return result;
    } catch (err) {
      if (tx.state === 'open') {
        // A connection that cannot even roll back is not given back to the pool as usable.
        await conn.query('ROLLBACK').catch((rollbackError: unknown) => {
          conn.__knex__disposed = rollbackError;
        });
      }
      throw err;
    } finally {
      tx.state = 'done';
      await db.client.releaseConnection(conn);
    }
  }

  /** BEGIN and the statements, in one round trip; the rows of each statement, in order. */
  async begin(statements: Fragment[]): Promise<Record<string, unknown>[][]> {
    if (this.state !== 'idle') throw new Error('pipelined transaction already begun');
    const text = ['BEGIN', ...statements.map(inlineValues)];
    this.state = 'open';
    return (await this.send(text)).slice(1);
  }

  /** One parameterized statement inside the transaction (its own round trip). */
  async query<R extends Record<string, unknown>>(statement: Fragment): Promise<R[]> {
    if (this.state !== 'open') throw new Error('pipelined transaction is not open');
    const { text, values } = positional(statement);
    return (await this.conn.query<R>(text, values)).rows;
  }

  /** The statements and COMMIT, in one round trip. */
  async commit(statements: Fragment[]): Promise<Record<string, unknown>[][]> {
    if (this.state !== 'open') throw new Error('pipelined transaction is not open');
    const rows = await this.send([...statements.map(inlineValues), 'COMMIT']);
    this.state = 'done';
    return rows.slice(0, -1);
  }

  private async send(statements: string[]): Promise<Record<string, unknown>[][]> {
    const result = (await this.conn.query(statements.join(';\n'))) as unknown as pg.QueryResult | pg.QueryResult[];
    return (Array.isArray(result) ? result : [result]).map((r) => r.rows as Record<string, unknown>[]);
  }
}

/** A value as an SQL literal: NULL, or the text node-postgres would send for it as a parameter, quoted. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value) && value.some((v) => Array.isArray(v))) throw new Error('nested arrays are not written as literals');
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  const text = prepareValue(value);
  if (text === null) return 'NULL';
  if (typeof text !== 'string') throw new Error('binary values are not written as literals');
  if (text.includes('\0')) throw new Error('a NUL character cannot be written in a statement');
  // node-postgres's own quoting (quotes doubled; with a backslash, the E'' form with backslashes
  // doubled, whatever standard_conforming_strings says): not a quoting of ours.
  return escapeLiteral(text);
}

/** The fragment with each `?` replaced by its binding as a literal. Fragments here hold no `?` other than placeholders. */
export function inlineValues(statement: Fragment): string {
  const parts = statement.sql.split('?');
  if (parts.length - 1 !== statement.bindings.length) throw new Error(`statement has ${parts.length - 1} placeholders for ${statement.bindings.length} values`);
  return parts.reduce((sql, part, n) => (n === 0 ? part : `${sql}${sqlLiteral(statement.bindings[n - 1])}${part}`), '');
}

/** The fragment with `$1`, `$2`, ... placeholders, for node-postgres. */
function positional(statement: Fragment): { text: string; values: unknown[] } {
  const parts = statement.sql.split('?');
  if (parts.length - 1 !== statement.bindings.length) throw new Error(`statement has ${parts.length - 1} placeholders for ${statement.bindings.length} values`);
  return { text: parts.reduce((sql, part, n) => (n === 0 ? part : `${sql}$${n}${part}`), ''), values: statement.bindings };
}
