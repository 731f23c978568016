import { postJournals, UnbalancedJournalError } from '../../src/modules/ledger/ledger.service';
import { createTestDatabase, type TestDatabase } from '../support/test-db';

/** The database itself refuses an unbalanced journal and any edit of history. */
let database: TestDatabase;
let schoolId: string;
beforeAll(async () => {
  database = await createTestDatabase({ seeded: true });
  schoolId = (await database.db('schools').first('id')).id;
});
afterAll(() => database.drop());

test('the code refuses to post a journal that does not sum to zero', async () => {
  await expect(database.db.transaction((trx) => postJournals(trx, [{ schoolId, kind: 'payment_received', referenceType: 'test', referenceId: 'x1', at: new Date(), entries: [{ accountKind: 'suspense', accountKey: '', amountVnd: 5 }] }]))).rejects.toThrow(UnbalancedJournalError);
});

test('the database refuses unbalanced entries written behind the code\'s back', async () => {
  await expect(database.db.transaction(async (trx) => {
    const [j] = await trx('journals').insert({ school_id: schoolId, kind: 'payment_received', reference_type: 'test', reference_id: 'x2', posted_at: new Date() }).returning('id');
    await trx('ledger_entries').insert([{ school_id: schoolId, journal_id: j.id, entry_no: 1, account_kind: 'suspense', account_key: '', amount_vnd: 100 }]);
  })).rejects.toThrow(/does not balance/);
  expect(await database.db('journals').where({ reference_id: 'x2' })).toHaveLength(0);
});

test('posted entries cannot be updated or deleted, and posting the same journal twice adds nothing', async () => {
  const journal = { schoolId, kind: 'payment_received' as const, referenceType: 'test', referenceId: 'x3', at: new Date(), entries: [{ accountKind: 'suspense' as const, accountKey: '', amountVnd: -100 }, { accountKind: 'bank_clearing' as const, accountKey: 'acct_x', amountVnd: 100 }] };
  expect(await database.db.transaction((trx) => postJournals(trx, [journal]))).toBe(1);
  expect(await database.db.transaction((trx) => postJournals(trx, [journal]))).toBe(0);
  await expect(database.db('ledger_entries').where({ school_id: schoolId, account_key: 'acct_x' }).update({ amount_vnd: 1 })).rejects.toThrow(/append-only/);
  await expect(database.db('ledger_entries').where({ school_id: schoolId, account_key: 'acct_x' }).delete()).rejects.toThrow(/append-only/);
});
