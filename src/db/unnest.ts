import type { Knex } from 'knex';

/**
 * Set-based writes: one array parameter per column, expanded by unnest, so a statement that writes
 * a thousand rows has as many parameters as it has columns and one shape however many rows come
 * (DESIGN.md 6: set-based, no per-row round trips).
 */
export interface Column {
  name: string;
  /** The PostgreSQL type of the column: text, bigint, smallint, timestamptz, jsonb, ... */
  type: string;
}

export interface Fragment {
  sql: string;
  bindings: Knex.Value[];
}

/** `SELECT * FROM unnest($1::type[], ...)` over the rows, columns in the order given; absent values are NULL. */
export function unnestRows(columns: Column[], rows: Record<string, unknown>[]): Fragment {
  return {
    sql: `SELECT * FROM unnest(${columns.map((c) => `?::${c.type}[]`).join(', ')})`,
    bindings: columns.map((c) => rows.map((r) => r[c.name] ?? null) as Knex.Value),
  };
}

/** `INSERT INTO table (columns) SELECT * FROM unnest(...)`; add ON CONFLICT or RETURNING after it. */
export function unnestInsert(table: string, columns: Column[], rows: Record<string, unknown>[]): Fragment {
  const select = unnestRows(columns, rows);
  return { sql: `INSERT INTO ${table} (${columns.map((c) => c.name).join(', ')}) ${select.sql}`, bindings: select.bindings };
}

export const cols = (spec: string): Column[] =>
  spec.split(',').map((part) => {
    const [name, type] = part.trim().split(/\s+/);
    return { name: name!, type: type! };
  });
