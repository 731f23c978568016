import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { ConflictError, NotFoundError, UnprocessableError, ValidationError } from '../../http/errors';
import { fetchBankStatement, type StatementApiSettings } from '../../integrations/statements/bank-statement-api';
import { dedupeKeys, type ParsedStatement, STATEMENT_PARSERS, type StatementFormat, StatementFormatError, type StatementSource } from '../../integrations/statements';
import type { NormalizedTransfer } from '../../integrations/banks/bank-adapter';
import { type Clock, vietnamDate } from '../../lib/clock';
import { newId } from '../../lib/ids';
import { parseVnd } from '../../lib/money';
import { findInvoiceAndBundleCodes } from '../../lib/payment-code';
import { isUniqueViolation } from '../../lib/pg-errors';
import { type Principal, requireSchoolRole } from '../access/access.service';
import { recordAuditEvent } from '../audit/audit.service';
import { processBankEvents } from '../payments/bank-events.service';
import * as repo from './reconciliation.repository';

/**
 * Reconciliation (DESIGN.md 5.6): statements in (files and the bank's API), stored verbatim and
 * deduplicated; each day matched against recorded payments in tiers; what does not match waits in
 * an exception queue for the accountant. See docs/ARCHITECTURE.md "Reconciliation".
 */
const STAFF = ['accountant', 'school_admin'] as const;

export interface ReconciliationDeps {
  db: Knex;
  clock: Clock;
  logger: Logger;
}

interface StaffContext extends ReconciliationDeps {
  principal: Principal;
  requestId?: string;
}

async function loadAccount(db: Knex | Knex.Transaction, schoolId: string, accountId: string): Promise<repo.AccountRow> {
  const account = await db('collection_accounts').where({ school_id: schoolId, id: accountId }).first<repo.AccountRow | undefined>('school_id', 'id', 'account_number');
  if (!account) throw new NotFoundError('COLLECTION_ACCOUNT_NOT_FOUND', 'No such collection account at this school.', 'collection_account_id');
  return account;
}

/** Checks a parsed statement against its account and today; throws 4xx naming the line or field. */
function checkStatement(statement: ParsedStatement, account: repo.AccountRow, today: string): void {
  if (statement.accountNumber !== null && statement.accountNumber !== account.account_number) {
    throw new UnprocessableError('STATEMENT_ACCOUNT_MISMATCH', 'The statement is for another account than the collection account named.', 'Acct');
  }
  const future = statement.lines.findIndex((l) => l.bookedOn > today);
  if (future >= 0) throw new UnprocessableError('STATEMENT_DATE_IN_FUTURE', `Line ${future + 1} is booked after today.`, `lines[${future}].booked_on`);
}

/** Stores a statement and its lines in one transaction; lines already stored (same dedupe key) are skipped. */
async function storeStatement(deps: ReconciliationDeps, account: repo.AccountRow, source: StatementSource, statement: ParsedStatement, content: string, meta: { fileName?: string | null; importedBy?: string | null; day?: string }) {
  const now = deps.clock.now();
  const days = statement.lines.map((l) => l.bookedOn).sort();
  const fromOn = meta.day ?? days[0] ?? vietnamDate(now);
  const toOn = meta.day ?? days[days.length - 1] ?? fromOn;
  const keys = dedupeKeys(statement.lines);
  return deps.db.transaction(async (trx) => {
    const [imported] = await trx('statement_imports')
      .insert({
        school_id: account.school_id,
        collection_account_id: account.id,
        source,
        from_on: fromOn,
        to_on: toOn,
        file_name: meta.fileName ?? null,
        content,
        content_sha256: createHash('sha256').update(content).digest('hex'),
        opening_balance_vnd: statement.openingBalanceVnd,
        closing_balance_vnd: statement.closingBalanceVnd,
        line_count: statement.lines.length,
        new_line_count: 0,
        imported_by: meta.importedBy ?? null,
        imported_at: now,
      })
      .returning<{ id: string }[]>('id');
    const added = await repo.insertLines(
      trx,
      statement.lines.map((l, i) => ({
        school_id: account.school_id,
        collection_account_id: account.id,
        import_id: imported!.id,
        booked_on: l.bookedOn,
        booked_at: l.bookedAt,
        direction: l.direction,
        amount_vnd: l.amountVnd,
        bank_transaction_id: l.bankTransactionId,
        description: l.description,
        virtual_account: l.virtualAccount,
        counterparty_name: l.counterpartyName,
        counterparty_account: l.counterpartyAccount,
        balance_after_vnd: l.balanceAfterVnd,
        raw: JSON.stringify(l.raw),
        // Invoices' codes and combined payments' (bundle) codes; the insert keeps those that exist.
        codes: findInvoiceAndBundleCodes(l.description).join(','),
        dedupe_key: keys[i],
        created_at: now,
      })),
    );
    const [row] = await trx('statement_imports').where({ school_id: account.school_id, id: imported!.id }).update({ new_line_count: added }).returning('*');
    return row as StatementImportRow;
  });
}

export interface StatementImportRow {
  school_id: string;
  id: string;
  collection_account_id: string;
  source: StatementSource;
  from_on: string;
  to_on: string;
  file_name: string | null;
  opening_balance_vnd: string | null;
  closing_balance_vnd: string | null;
  line_count: number;
  new_line_count: number;
  imported_at: Date;
}

/** An accountant uploads a statement file; importing the same statement again adds no line. */
export async function importStatementFile(ctx: StaffContext, schoolId: string, input: { collectionAccountId: string; format: StatementFormat; content: string; fileName?: string }): Promise<StatementImportRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const account = await loadAccount(ctx.db, schoolId, input.collectionAccountId);
  let statement: ParsedStatement;
  try {
    statement = STATEMENT_PARSERS[input.format](input.content);
  } catch (e) {
    if (e instanceof StatementFormatError) throw new ValidationError('STATEMENT_MALFORMED', `The ${input.format} statement cannot be read: ${e.message}.`, { param: e.param });
    throw e;
  }
  checkStatement(statement, account, vietnamDate(ctx.clock.now()));
  const row = await storeStatement(ctx, account, input.format, statement, input.content, { fileName: input.fileName, importedBy: ctx.principal.personId });
  await recordAuditEvent(ctx.db, { schoolId, actorPersonId: ctx.principal.personId, action: 'statement.imported', subjectType: 'statement_import', subjectId: row.id, details: { format: input.format, lines: row.line_count, new_lines: row.new_line_count }, requestId: ctx.requestId, at: ctx.clock.now() });
  return row;
}

/** The nightly pull: one account's statement for a day from the bank's API, stored like a file. */
export async function pullBankStatement(deps: ReconciliationDeps & { statementApi: StatementApiSettings }, account: repo.AccountRow, day: string): Promise<StatementImportRow> {
  const { statement, content } = await fetchBankStatement(deps.statementApi, account.account_number, day, deps.clock.now());
  checkStatement(statement, account, vietnamDate(deps.clock.now()));
  return storeStatement(deps, account, 'bank_api', statement, content, { day });
}

async function statementEndpoint(trx: Knex.Transaction, account: repo.AccountRow): Promise<string> {
  await trx.raw(
    `INSERT INTO bank_endpoints (school_id, provider, collection_account_id, secret) VALUES (?, 'statement', ?, ?) ON CONFLICT (school_id, provider, collection_account_id) DO NOTHING`,
    [account.school_id, account.id, `stmt_${randomBytes(24).toString('hex')}`],
  );
  const row = await trx('bank_endpoints').where({ school_id: account.school_id, provider: 'statement', collection_account_id: account.id }).first<{ id: string }>('id');
  return row.id;
}

/**
 * Records money the bank shows and the service does not through the payment machinery: each is a
 * bank event of the account's 'statement' endpoint (unique per line or resolution), processed like a
 * callback, so allocation, the ledger and the (account, bank reference) uniqueness all apply, and a
 * late callback for the same transfer is recognized as a duplicate.
 */
async function recordFromStatement(trx: Knex.Transaction, deps: ReconciliationDeps, account: repo.AccountRow, items: { externalId: string; transfer: NormalizedTransfer & { toSuspense?: string; invoiceIds?: string[] }; raw: unknown }[]): Promise<string[]> {
  if (items.length === 0) return [];
  const endpointId = await statementEndpoint(trx, account);
  const now = deps.clock.now();
  const rows = items.map((it) => ({
    school_id: account.school_id,
    endpoint_id: endpointId,
    provider: 'statement',
    external_id: it.externalId,
    amount_vnd: it.transfer.amountVnd,
    direction: 'in',
    account_number: account.account_number,
    description: it.transfer.description,
    transfer: JSON.stringify(it.transfer),
    raw_headers: '{}',
    raw_body: JSON.stringify(it.raw),
    raw_query: '{}',
    received_at: now,
    status: 'received',
    response_status: 200,
    response_body: '{}',
  }));
  const ids: string[] = [];
  for (let i = 0; i < rows.length; i += 5000) {
    const inserted = await trx('bank_events').insert(rows.slice(i, i + 5000)).onConflict(['school_id', 'endpoint_id', 'external_id']).merge(['external_id']).returning<{ id: string }[]>('id');
    ids.push(...inserted.map((r) => r.id));
  }
  for (let i = 0; i < ids.length; i += 2000) {
    await processBankEvents({ db: trx as unknown as Knex, clock: deps.clock }, ids.slice(i, i + 2000).map((id) => ({ schoolId: account.school_id, eventId: id })));
  }
  return ids;
}

const lineTransfer = (account: repo.AccountRow, l: { id: string; amount_vnd: string | number; bank_transaction_id: string | null; description: string; virtual_account: string | null; booked_at: Date | null; booked_on: string }, code: string | null, extra: { toSuspense?: string; invoiceIds?: string[] } = {}) => ({
  externalId: `line:${l.id}`,
  amountVnd: parseVnd(l.amount_vnd),
  direction: 'in' as const,
  accountNumber: account.account_number,
  virtualAccount: l.virtual_account,
  description: l.description,
  paymentCodeHint: code,
  occurredAt: (l.booked_at ? new Date(l.booked_at) : new Date(`${l.booked_on}T12:00:00+07:00`)).toISOString(),
  bankReference: l.bank_transaction_id,
  payerName: null,
  succeeded: true,
  ...extra,
});

export interface DayOutcome {
  school_id: string;
  collection_account_id: string;
  date: string;
  new_results: number;
  outcomes: Record<string, { count: number; amount_vnd: number }>;
}

/**
 * Reconciles one account's day: tier 1 bank reference, tier 2 payment code and amount, tier 3
 * virtual account and amount, tier 4 amount within a day with a unique candidate; lines with a
 * valid code left over become payments from the statement; the rest are exceptions. Repeatable:
 * a second run finds every line and payment already decided and writes nothing.
 */
export async function reconcileDay(deps: ReconciliationDeps, schoolId: string, accountId: string, day: string): Promise<DayOutcome> {
  const account = await loadAccount(deps.db, schoolId, accountId);
  for (let attempt = 1; ; attempt++) {
    const stepsMs: Record<string, number> = {};
    try {
      const created = await deps.db.transaction(async (trx) => {
        // One reconciliation of an account at a time (a hand-run beside the nightly one waits).
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`reconcile|${schoolId}|${accountId}`]);
        const b: repo.Binding = { school: schoolId, account: accountId, day, now: deps.clock.now() };
        const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
          const t = performance.now();
          const out = await work();
          stepsMs[name] = Math.round(performance.now() - t);
          return out;
        };
        await step('candidates', () => repo.prepareCandidates(trx, b));
        let n = await step('bank_reference', () => repo.matchByBankReference(trx, b));
        n += await step('payment_code', () => repo.matchByKey(trx, b, 'payment_code'));
        n += await step('virtual_account', () => repo.matchByKey(trx, b, 'virtual_account'));
        n += await step('amount_window', () => repo.matchByAmountWindow(trx, b));
        const toRecord = await repo.linesToRecord(trx);
        const eventIds = await step('statement_payments', () => recordFromStatement(trx, deps, account, toRecord.map((l) => ({ externalId: `line:${l.id}`, transfer: lineTransfer(account, l, l.payment_codes[0] ?? null), raw: l.raw }))));
        n += await repo.matchStatementPayments(trx, b, eventIds, toRecord.map((l) => l.id));
        n += await step('leftovers', () => repo.recordLeftovers(trx, b));
        await step('settle', () => repo.settleLines(trx, b));
        return n;
      });
      const outcomes = await repo.outcomesOfDay(deps.db, schoolId, accountId, day);
      deps.logger.info({ school_id: schoolId, collection_account_id: accountId, date: day, new_results: created, outcomes, steps_ms: stepsMs }, 'day reconciled');
      return { school_id: schoolId, collection_account_id: accountId, date: day, new_results: created, outcomes };
    } catch (e) {
      // A callback recorded the same transfer meanwhile (the bank reference is unique per account):
      // run again, and tier 1 now matches the callback's payment.
      if (!isUniqueViolation(e) || attempt >= 3) throw e;
    }
  }
}

/**
 * The nightly job: for every collection account (of one school, when given), pull the day's
 * statement from the bank's API and reconcile the day. One account's failure is reported and the
 * others go on.
 */
export async function reconcileAllAccounts(deps: ReconciliationDeps & { statementApi: StatementApiSettings }, day: string, schoolId?: string): Promise<{ accounts: number; failed: { collection_account_id: string; error: string }[]; outcomes: Record<string, number> }> {
  const q = deps.db('collection_accounts').orderBy(['school_id', 'id']);
  if (schoolId) q.where({ school_id: schoolId });
  const accounts = await q.select<repo.AccountRow[]>('school_id', 'id', 'account_number');
  const failed: { collection_account_id: string; error: string }[] = [];
  const totals: Record<string, number> = {};
  for (const account of accounts) {
    try {
      await pullBankStatement(deps, account, day);
      const result = await reconcileDay(deps, account.school_id, account.id, day);
      for (const [outcome, v] of Object.entries(result.outcomes)) totals[outcome] = (totals[outcome] ?? 0) + v.count;
    } catch (e) {
      failed.push({ collection_account_id: account.id, error: e instanceof Error ? e.message.slice(0, 300) : String(e) });
    }
  }
  return { accounts: accounts.length, failed, outcomes: totals };
}

export interface ExceptionRow {
  school_id: string;
  id: string;
  collection_account_id: string;
  statement_on: string;
  line_id: string | null;
  payment_id: string | null;
  outcome: string;
  amount_vnd: string;
  details: Record<string, unknown>;
  status: 'open' | 'resolved';
  created_at: Date;
  resolution: string | null;
  resolution_note: string | null;
  resolution_payment_id: string | null;
  resolved_by: string | null;
  resolved_at: Date | null;
  description?: string | null;
}

/** The accountant's queue: open (or resolved) exceptions of a school, oldest first. */
export async function listExceptions(ctx: StaffContext, schoolId: string, filter: { status: 'open' | 'resolved' }, page: { limit: number; startingAfter?: string }): Promise<ExceptionRow[]> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const q = ctx.db('reconciliation_results as r')
    .leftJoin('statement_lines as l', (j) => j.on('l.school_id', '=', 'r.school_id').andOn('l.id', '=', 'r.line_id'))
    .where({ 'r.school_id': schoolId, 'r.status': filter.status })
    .orderBy('r.id')
    .limit(page.limit + 1)
    .select<ExceptionRow[]>('r.*', 'l.description');
  if (page.startingAfter) q.where('r.id', '>', page.startingAfter);
  return q;
}

export type Resolution =
  | { action: 'attach'; invoiceId?: string; studentId?: string; amountVnd?: number; note?: string }
  | { action: 'refund'; note?: string }
  | { action: 'bank_error'; note: string }
  | { action: 'dismiss'; note: string };

/**
 * Resolves an exception, once. `attach` records the line's money (or part of it) as a payment to
 * the student or invoice named; `refund` records it in suspense, marked to be paid back to the
 * payer; both move money through the payment machinery and its ledger journal. `bank_error` and
 * `dismiss` move nothing. Every resolution is audited.
 */
export async function resolveException(ctx: StaffContext, schoolId: string, exceptionId: string, resolution: Resolution): Promise<ExceptionRow> {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  const result = await ctx.db.transaction(async (trx) => {
    const exc = await trx('reconciliation_results').where({ school_id: schoolId, id: exceptionId }).whereNot({ outcome: 'matched' }).forUpdate().first<ExceptionRow | undefined>();
    if (!exc) throw new NotFoundError('EXCEPTION_NOT_FOUND', 'No such reconciliation exception.', 'exception_id');
    if (exc.status !== 'open') throw new ConflictError('EXCEPTION_ALREADY_RESOLVED', 'This exception was already resolved.');
    const now = ctx.clock.now();
    let paymentEvent: string | undefined;
    let settled = true;
    if (resolution.action === 'attach' || resolution.action === 'refund') {
      if (exc.outcome !== 'missing_in_service' || !exc.line_id) throw new UnprocessableError('RESOLUTION_NOT_APPLICABLE', 'Only money the bank shows and the service does not can be attached or refunded.', 'action');
      const line = await trx('statement_lines').where({ school_id: schoolId, id: exc.line_id }).forUpdate().first();
      const account = await loadAccount(trx, schoolId, exc.collection_account_id);
      const remaining = parseVnd(line.amount_vnd) - parseVnd(line.matched_vnd);
      const amount = resolution.action === 'attach' ? (resolution.amountVnd ?? remaining) : remaining;
      if (amount > remaining) throw new UnprocessableError('AMOUNT_EXCEEDS_LINE', `At most ${remaining} dong of this line is left to allocate.`, 'amount_vnd');
      const extra: { toSuspense?: string; invoiceIds?: string[] } = {};
      let code: string | null = null;
      if (resolution.action === 'attach') {
        const target = await attachTarget(trx, schoolId, resolution);
        code = target.paymentCode;
        if (target.invoiceId) extra.invoiceIds = [target.invoiceId];
      } else {
        extra.toSuspense = 'reconciliation: to be refunded to the payer';
      }
      const transfer = { ...lineTransfer(account, line, code, extra), amountVnd: amount, externalId: `resolution:${exc.id}:${newId('r').slice(2, 10)}`, bankReference: amount === parseVnd(line.amount_vnd) ? line.bank_transaction_id : null };
      [paymentEvent] = await recordFromStatement(trx, ctx, account, [{ externalId: transfer.externalId, transfer, raw: { resolution: exc.id } }]);
      const [updated] = await trx('statement_lines').where({ school_id: schoolId, id: line.id }).increment('matched_vnd', amount).returning<{ matched_vnd: string; amount_vnd: string }[]>(['matched_vnd', 'amount_vnd']);
      settled = parseVnd(updated!.matched_vnd) === parseVnd(updated!.amount_vnd);
      if (settled) await trx('statement_lines').where({ school_id: schoolId, id: line.id }).update({ status: 'reconciled' });
    }
    const payment = paymentEvent ? await trx('payments').where({ school_id: schoolId, bank_event_id: paymentEvent }).first<{ id: string }>('id') : undefined;
    const [row] = await trx('reconciliation_results')
      .where({ school_id: schoolId, id: exc.id })
      .update(
        settled
          ? { status: 'resolved', resolution: resolution.action === 'attach' ? 'attached' : resolution.action === 'dismiss' ? 'dismissed' : resolution.action, resolution_note: resolution.note ?? null, resolution_payment_id: payment?.id ?? exc.resolution_payment_id, resolved_by: ctx.principal.personId, resolved_at: now }
          : { resolution_payment_id: payment?.id ?? exc.resolution_payment_id },
      )
      .returning<ExceptionRow[]>('*');
    await recordAuditEvent(trx, { schoolId, actorPersonId: ctx.principal.personId, action: 'reconciliation_exception.resolved', subjectType: 'reconciliation_exception', subjectId: exc.id, details: { action: resolution.action, note: resolution.note ?? null, payment_id: payment?.id ?? null, settled }, requestId: ctx.requestId, at: now });
    return row!;
  });
  return result;
}

async function attachTarget(trx: Knex.Transaction, schoolId: string, r: { invoiceId?: string; studentId?: string }): Promise<{ paymentCode: string; invoiceId: string | null }> {
  if (r.invoiceId) {
    const inv = await trx('invoices').where({ school_id: schoolId, id: r.invoiceId }).whereNotIn('status', ['draft', 'void']).first<{ payment_code: string } | undefined>('payment_code');
    if (!inv) throw new NotFoundError('INVOICE_NOT_FOUND', 'No issued invoice with this id at this school.', 'invoice_id');
    return { paymentCode: inv.payment_code, invoiceId: r.invoiceId };
  }
  const inv = await trx('invoices').where({ school_id: schoolId, person_id: r.studentId }).whereNotIn('status', ['draft', 'void']).orderBy('due_on').first<{ payment_code: string } | undefined>('payment_code');
  if (!inv) throw new UnprocessableError('STUDENT_HAS_NO_INVOICE', 'The student has no issued invoice at this school to attach the money to.', 'student_id');
  return { paymentCode: inv.payment_code, invoiceId: null };
}

/** A day's reconciliation of one account: balances, lines, matched, exceptions by kind. */
export async function dayReport(ctx: StaffContext, schoolId: string, accountId: string, day: string) {
  await requireSchoolRole(ctx.db, ctx.principal, schoolId, [...STAFF]);
  await loadAccount(ctx.db, schoolId, accountId);
  const [lines] = await ctx.db('statement_lines')
    .where({ school_id: schoolId, collection_account_id: accountId, booked_on: day })
    .select<{ count: string; in_vnd: string | null; out_vnd: string | null }[]>(ctx.db.raw('count(*) AS count'), ctx.db.raw(`sum(amount_vnd) FILTER (WHERE direction = 'in') AS in_vnd`), ctx.db.raw(`sum(amount_vnd) FILTER (WHERE direction = 'out') AS out_vnd`));
  const opening = await ctx.db('statement_imports')
    .where({ school_id: schoolId, collection_account_id: accountId, from_on: day })
    .whereNotNull('opening_balance_vnd')
    .orderBy('imported_at', 'desc')
    .first<{ opening_balance_vnd: string } | undefined>('opening_balance_vnd');
  const outcomes = await repo.outcomesOfDay(ctx.db, schoolId, accountId, day);
  const inVnd = parseVnd(lines?.in_vnd ?? 0);
  const outVnd = parseVnd(lines?.out_vnd ?? 0);
  const openingVnd = opening ? parseVnd(opening.opening_balance_vnd) : null;
  const { matched, ...exceptions } = outcomes;
  return {
    school_id: schoolId,
    collection_account_id: accountId,
    date: day,
    opening_balance_vnd: openingVnd,
    closing_balance_vnd: openingVnd === null ? null : openingVnd + inVnd - outVnd,
    lines: Number(lines?.count ?? 0),
    credits_vnd: inVnd,
    debits_vnd: outVnd,
    matched: matched ?? { count: 0, amount_vnd: 0 },
    exceptions,
  };
}

