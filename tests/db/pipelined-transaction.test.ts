import { inlineValues, PipelinedTransaction, sqlLiteral } from '../../src/db/pipelined-transaction';
import { createTestDatabase, type TestDatabase } from '../support/test-db';

/**
 * The callback batch's transaction sends its values written into the statements as literals
 * (src/db/pipelined-transaction.ts). A literal must read back exactly as the same value sent as a
 * parameter, whatever the text holds; a failed statement must roll back everything before it.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ seeded: false });
  await database.db.raw('CREATE TABLE pipelined_probe (k text PRIMARY KEY, v text NOT NULL)');
});
afterAll(() => database.drop());

const hostile = [
  "O'Brien", "''; DROP TABLE pipelined_probe; --", 'back\\slash \\\' \\\\ end\\', '? $1 ?? :name', 'Học phí tháng 11 – Nguyễn Văn Ả 😀',
  '{"a":"b\\"c","d":[1,null]}', 'tab\tnew\nline\r', '{braces}, "quotes", NULL', '', ' E\'x\'',
];

test('every value reads back from its literal exactly as from a parameter', async () => {
  const sql = '?::text[] AS texts, ?::text AS one, ?::bigint[] AS amounts, ?::timestamptz AS at, ?::jsonb[] AS docs, ? AS nothing, ?::text[] AS empty';
  const at = new Date('2026-12-01T10:11:12.345Z');
  const bindings = [hostile, hostile[2]!, [1, 9_007_199_254_740_991, -5, null], at, hostile.slice(5, 6).concat(['{"x":"\\u1ea0"}']), null, []];
  const { rows: [asParameters] } = await database.db.raw(`SELECT ${sql}`, bindings as never);
  // Through the pipelined transaction's own connection: knex's raw() would read a `?` inside a literal as a placeholder.
  const asLiterals = await PipelinedTransaction.run(database.db, async (tx) => {
    const [rows] = await tx.begin([{ sql: `SELECT ${sql}`, bindings: bindings as never }]);
    await tx.commit([]);
    return rows![0] as Record<string, unknown> & { texts: string[]; at: Date };
  });
  expect(inlineValues({ sql: 'SELECT ?::text', bindings: ["it's"] })).toBe("SELECT 'it''s'::text");
  expect(asLiterals).toEqual(asParameters);
  expect(asLiterals.texts).toEqual(hostile);
  expect(asLiterals.at.toISOString()).toBe(at.toISOString());
});

test('values that cannot be written as literals are refused before anything is sent', () => {
  expect(() => sqlLiteral('a\0b')).toThrow(/NUL/);
  expect(() => sqlLiteral([['nested']])).toThrow(/nested/);
  expect(() => sqlLiteral(Number.NaN)).toThrow(/finite/);
  expect(() => sqlLiteral(Buffer.from('x'))).toThrow(/binary/);
  expect(() => inlineValues({ sql: 'SELECT ?, ?', bindings: ['one'] })).toThrow(/placeholders/);
});

test('statements sent together run in order and commit together; a failure rolls back the whole transaction', async () => {
  const insert = (k: string, v: string) => ({ sql: 'INSERT INTO pipelined_probe (k, v) VALUES (?, ?) RETURNING k', bindings: [k, v] });
  await PipelinedTransaction.run(database.db, async (tx) => {
    const [first] = await tx.begin([insert('a', hostile[1]!)]);
    expect(first).toEqual([{ k: 'a' }]);
    expect(await tx.query<{ v: string }>({ sql: 'SELECT v FROM pipelined_probe WHERE k = ?', bindings: ['a'] })).toEqual([{ v: hostile[1] }]);
    await tx.commit([insert('b', hostile[2]!)]);
  });
  expect(await database.db('pipelined_probe').orderBy('k').select('k', 'v')).toEqual([{ k: 'a', v: hostile[1] }, { k: 'b', v: hostile[2] }]);

  // The second statement of the last round trip fails (duplicate key): the first round trip's row goes too.
  await expect(PipelinedTransaction.run(database.db, async (tx) => {
    await tx.begin([insert('c', 'x')]);
    await tx.commit([insert('d', 'y'), insert('a', 'again')]);
  })).rejects.toThrow(/duplicate key/);
  // Work that throws between the round trips rolls back too, and so does returning without committing.
  await expect(PipelinedTransaction.run(database.db, async (tx) => {
    await tx.begin([insert('e', 'x')]);
    throw new Error('changed my mind');
  })).rejects.toThrow(/changed my mind/);
  await expect(PipelinedTransaction.run(database.db, async (tx) => {
    await tx.begin([insert('f', 'x')]);
  })).rejects.toThrow(/without committing/);
  expect(await database.db('pipelined_probe').orderBy('k').pluck('k')).toEqual(['a', 'b']);

  // The connections went back to the pool usable, outside any transaction.
  const { rows } = await database.db.raw('SELECT count(*)::int AS n FROM pipelined_probe');
  expect(rows[0].n).toBe(2);
});
