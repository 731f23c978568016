import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import { cols, type Fragment, unnestInsert } from '../../db/unnest';
import type { InboundRequest, NormalizedTransfer, Outcome, Provider } from '../../integrations/banks/bank-adapter';
import { BANK_ADAPTERS } from '../../integrations/banks';
import { newId } from '../../lib/ids';
import { parseVnd } from '../../lib/money';
import { findPaymentCodes } from '../../lib/payment-code';
import { maskPersonalIdsInText } from '../../lib/personal-id';
import { ENTRY_COLUMNS, type EntryInput, JOURNAL_COLUMNS, type JournalInput, journalRows } from '../ledger/ledger.service';
import { allocateOldestFirst, lockStudentsAndOpenInvoices, namedFirst, type PaymentDeps, type Reply, STATUS_FROM_PAID, type StudentRef } from './payments.service';
import { type BundlePlan, bundleCodesIn, bundleOrder, bundleReceivables, lookUpBundles } from './payment-bundles.settlement';

/**
 * Payments from bank notifications. Order of work (DESIGN.md 5, STYLE.md 7-9):
 * 1. verify the signature on the raw request with the endpoint's secret (nothing stored if bad);
 * 2. store the event verbatim, unique per (school, endpoint, external id), with the reply we give;
 * 3. process it (repeatable): record the payment once, allocate it to the student's open invoices
 *    oldest due first, put any surplus on the student's credit, or the whole amount in suspense with
 *    an exception when it cannot be attributed; post the journal.
 * A replay gets the stored reply and records nothing.
 *
 * Every step is set-based: it takes a batch of notifications (the BankInbox groups those that
 * arrive together, like a database's group commit) and costs the same few round trips for one
 * notification or a hundred. Steps 2 and 3 share one transaction (one commit per batch); if
 * processing fails, the events are stored on their own and processed one by one, so a bad event
 * costs neither its own storage nor the others' processing.
 */
export interface Notification {
  provider: Provider;
  endpointId: string;
  req: InboundRequest;
}

/** What is stored as `transfer`: the normalized transfer and, for some, how to attribute it. */
type StoredTransfer = NormalizedTransfer & {
  /** The money goes to suspense whatever its description says (e.g. a VNPay order we refused). */
  toSuspense?: string;
  /** Bill payments name the invoices they pay; those come first. */
  invoiceIds?: string[];
};

interface Endpoint {
  id: string;
  school_id: string;
  provider: Provider;
  secret: string;
  collection_account_id: string;
  account_number: string;
}

/** A stored event to record a payment for, with the receiving endpoint's account. */
interface PayableEvent {
  id: string;
  school_id: string;
  provider: Provider | 'billpay';
  transfer: StoredTransfer;
  collection_account_id: string;
  account_number: string;
}

interface InvoiceByCode {
  id: string;
  school_id: string;
  person_id: string;
  payment_code: string;
  status: string;
  total_vnd: string;
  paid_vnd: string;
}

const EVENT_COLUMNS = cols(`school_id text, endpoint_id text, provider text, external_id text, amount_vnd bigint, direction text,
  account_number text, description text, transfer jsonb, raw_headers jsonb, raw_body text, raw_query jsonb, received_at timestamptz,
  status text, processed_at timestamptz, response_status smallint, response_body jsonb`);
const PAYMENT_COLUMNS = cols('school_id text, id text, bank_event_id text, provider text, collection_account_id text, person_id text, payment_code text, amount_vnd bigint, status text, occurred_at timestamptz, recorded_at timestamptz, bank_reference text');
const ALLOCATION_COLUMNS = cols('school_id text, invoice_id text, payment_id text, source text, amount_vnd bigint, created_at timestamptz');
const EXCEPTION_COLUMNS = cols('school_id text, kind text, bank_event_id text, payment_id text, amount_vnd bigint, details jsonb, created_at timestamptz');

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const eventKey = (schoolId: string, endpointId: string, externalId: string) => `${schoolId}|${endpointId}|${externalId}`;

// VNPay pays the merchant, not an account number; others must name the endpoint's account.
const accountKnown = (ev: Pick<PayableEvent, 'provider' | 'transfer' | 'account_number'>) => ev.provider === 'vnpay' || ev.transfer.accountNumber === ev.account_number;
const candidateCodes = (t: StoredTransfer) => [...(t.paymentCodeHint ? [t.paymentCodeHint.toUpperCase()] : []), ...findPaymentCodes(t.description)];
/** The codes that may attribute the money: none when the account is not the school's or the money must go to suspense. */
const codesOf = (ev: Pick<PayableEvent, 'provider' | 'transfer' | 'account_number'>) => (accountKnown(ev) && !ev.transfer.toSuspense ? candidateCodes(ev.transfer) : []);

/** What attribution needs to know, read in one query: issued invoices by (school, payment code), and which bank references are already recorded. */
interface Lookup {
  invoices: Map<string, InvoiceByCode>;
  /** Students by `school|collection account|virtual account number`. */
  virtualAccounts: Map<string, string>;
  /** `school|collection account|bank reference` of payments already recorded, with their amounts. */
  recordedReferences: Map<string, number>;
  /** Combined payments by `school|bundle code` (payment-bundles.settlement.ts). */
  bundles: Map<string, BundlePlan>;
}

/** Bundle codes may attribute money on the same terms as invoice codes (not for VNPay, whose order is an invoice). */
const bundleCodesOf = (ev: Pick<PayableEvent, 'provider' | 'transfer' | 'account_number'>) => (accountKnown(ev) && ev.provider !== 'vnpay' && !ev.transfer.toSuspense ? bundleCodesIn(ev.transfer) : []);

/** The key under which a transfer reported by two providers is recognized; null when it cannot be (VNPay, unknown account, no reference). */
const referenceKey = (ev: Pick<PayableEvent, 'school_id' | 'provider' | 'transfer' | 'account_number' | 'collection_account_id'>) =>
  accountKnown(ev) && ev.provider !== 'vnpay' && ev.transfer.bankReference?.trim() ? `${ev.school_id}|${ev.collection_account_id}|${ev.transfer.bankReference.trim()}` : null;

/** The key of a transfer's virtual account on the endpoint's own account; null when there is none or the money must go to suspense. */
const virtualAccountKey = (ev: Pick<PayableEvent, 'school_id' | 'provider' | 'transfer' | 'account_number' | 'collection_account_id'>) =>
  accountKnown(ev) && ev.provider !== 'vnpay' && !ev.transfer.toSuspense && ev.transfer.virtualAccount ? `${ev.school_id}|${ev.collection_account_id}|${ev.transfer.virtualAccount.toUpperCase()}` : null;

async function lookUp(db: Db, events: Pick<PayableEvent, 'school_id' | 'provider' | 'transfer' | 'account_number' | 'collection_account_id'>[]): Promise<Lookup> {
  const codes = events.flatMap((ev) => codesOf(ev).map((c) => [ev.school_id, c] as const));
  const refs = events.filter((ev) => referenceKey(ev)).map((ev) => [ev.school_id, ev.collection_account_id, ev.transfer.bankReference!.trim()] as const);
  const vas = events.filter((ev) => virtualAccountKey(ev)).map((ev) => [ev.school_id, ev.collection_account_id, ev.transfer.virtualAccount!.toUpperCase()] as const);
  // A query only when a transfer names a code of the bundle namespace.
  const found: Lookup = { invoices: new Map(), virtualAccounts: new Map(), recordedReferences: new Map(), bundles: await lookUpBundles(db, events.flatMap((ev) => bundleCodesOf(ev).map((code) => ({ schoolId: ev.school_id, code })))) };
  if (codes.length === 0 && refs.length === 0 && vas.length === 0) return found;
  const { rows } = await db.raw<{ rows: (InvoiceByCode & { kind: 'invoice' | 'reference' | 'virtual'; account_id: string | null; reference: string | null })[] }>(
    `SELECT 'invoice' AS kind, i.id, i.school_id, i.person_id, i.payment_code, i.status, i.total_vnd - i.credited_vnd AS total_vnd, i.paid_vnd, NULL::text AS account_id, NULL::text AS reference
     FROM invoices i JOIN (SELECT DISTINCT * FROM unnest(?::text[], ?::text[])) AS t(school_id, code) ON i.school_id = t.school_id AND i.payment_code = t.code
     WHERE i.status <> 'draft'
     UNION ALL
     SELECT 'reference', NULL, p.school_id, NULL, NULL, NULL, p.amount_vnd, NULL, p.collection_account_id, p.bank_reference
     FROM payments p JOIN (SELECT DISTINCT * FROM unnest(?::text[], ?::text[], ?::text[])) AS t(school_id, account_id, reference)
       ON p.school_id = t.school_id AND p.collection_account_id = t.account_id AND p.bank_reference = t.reference
     WHERE p.provider <> 'vnpay' AND p.bank_reference <> ''
     UNION ALL
     SELECT 'virtual', NULL, v.school_id, v.person_id, NULL, NULL, NULL, NULL, v.collection_account_id, v.number
     FROM virtual_accounts v JOIN (SELECT DISTINCT * FROM unnest(?::text[], ?::text[], ?::text[])) AS t(school_id, account_id, number)
       ON v.school_id = t.school_id AND v.collection_account_id = t.account_id AND v.number = t.number`,
    [codes.map((l) => l[0]), codes.map((l) => l[1]), refs.map((r) => r[0]), refs.map((r) => r[1]), refs.map((r) => r[2]), vas.map((v) => v[0]), vas.map((v) => v[1]), vas.map((v) => v[2])],
  );
  for (const r of rows) {
    if (r.kind === 'invoice') found.invoices.set(`${r.school_id}|${r.payment_code}`, r);
    else if (r.kind === 'virtual') found.virtualAccounts.set(`${r.school_id}|${r.account_id}|${r.reference}`, r.person_id);
    else found.recordedReferences.set(`${r.school_id}|${r.account_id}|${r.reference}`, parseVnd(r.total_vnd));
  }
  return found;
}

/** Whose money it is: the student of the virtual account it was paid to, else of the first code that names an issued invoice. */
interface Attribution {
  person_id: string;
  payment_code: string | null;
  invoice_id: string | null;
  /** A combined payment: its money goes across the plan's students' invoices. */
  bundle?: BundlePlan;
}

function attributionFor(ev: Pick<PayableEvent, 'school_id' | 'provider' | 'transfer' | 'account_number' | 'collection_account_id'>, found: Lookup): Attribution | undefined {
  const vaKey = virtualAccountKey(ev);
  const byVirtualAccount = vaKey ? found.virtualAccounts.get(vaKey) : undefined;
  if (byVirtualAccount) return { person_id: byVirtualAccount, payment_code: null, invoice_id: null };
  const invoice = codesOf(ev).map((c) => found.invoices.get(`${ev.school_id}|${c}`)).find(Boolean);
  if (invoice) return { person_id: invoice.person_id, payment_code: invoice.payment_code, invoice_id: invoice.id };
  const bundle = bundleCodesOf(ev).map((c) => found.bundles.get(`${ev.school_id}|${c}`)).find(Boolean);
  return bundle ? { person_id: bundle.ownerId, payment_code: bundle.code, invoice_id: null, bundle } : undefined;
}

/**
 * Inside the caller's transaction: records one payment per event, allocates it (oldest due first;
 * payments of the batch for the same student one after the other, against the same locked
 * invoices), derives the invoices' paid amounts again, posts the journals, raises exceptions for
 * money put in suspense (and any others given) and marks the events processed.
 */
async function recordPayments(trx: Knex.Transaction, all: { ev: PayableEvent; invoice?: Attribution }[], recordedReferences: Map<string, number>, otherExceptions: Record<string, unknown>[], now: Date): Promise<void> {
  // One transfer reported by two providers watching the same account (SePay and Casso both read
  // the bank's statement) is recorded once: the bank's reference is unique within an account. A
  // report whose reference was recorded (before the lookup, or earlier in this batch) is marked
  // `duplicate`. A unique index backs this up when a concurrent batch records it meanwhile: this
  // transaction then fails, and the fallback finds it recorded. The same reference with another
  // amount is not the same transfer, or not a trustworthy report: its money is recorded, without
  // the reference, in suspense, with a `bank_reference_mismatch` exception for the accountant.
  const seen = new Map(recordedReferences);
  const items: { ev: PayableEvent; invoice?: Attribution; mismatch?: number }[] = [];
  const duplicates: PayableEvent[] = [];
  for (const item of all) {
    const key = referenceKey(item.ev);
    const recorded = key ? seen.get(key) : undefined;
    if (recorded === item.ev.transfer.amountVnd) {
      duplicates.push(item.ev);
      continue;
    }
    if (recorded !== undefined) {
      items.push({ ev: item.ev, mismatch: recorded });
      continue;
    }
    if (key) seen.set(key, item.ev.transfer.amountVnd);
    items.push(item);
  }

  const students: StudentRef[] = items.flatMap((a) => (a.invoice ? (a.invoice.bundle?.students ?? [a.invoice.person_id]).map((personId) => ({ schoolId: a.ev.school_id, personId })) : []));
  const openOf = await lockStudentsAndOpenInvoices(trx, students);

  const payments: Record<string, unknown>[] = [];
  const allocations: Record<string, unknown>[] = [];
  const journals: JournalInput[] = [];
  const exceptions: Record<string, unknown>[] = [...otherExceptions];
  for (const { ev, invoice, mismatch } of items) {
    const paymentId = newId('pay');
    const amount = ev.transfer.amountVnd;
    payments.push({
      school_id: ev.school_id,
      id: paymentId,
      bank_event_id: ev.id,
      provider: ev.provider,
      collection_account_id: accountKnown(ev) ? ev.collection_account_id : null,
      person_id: invoice?.person_id ?? null,
      payment_code: invoice?.payment_code ?? null,
      amount_vnd: amount,
      status: invoice ? 'attributed' : 'unattributed',
      occurred_at: ev.transfer.occurredAt,
      recorded_at: now,
      bank_reference: mismatch === undefined ? ev.transfer.bankReference?.trim() || null : null,
    });
    const clearing: EntryInput = { accountKind: 'bank_clearing', accountKey: accountKnown(ev) ? ev.collection_account_id : `unknown:${ev.transfer.accountNumber}`, amountVnd: amount };
    const journal = { schoolId: ev.school_id, kind: 'payment_received' as const, referenceType: 'payment', referenceId: paymentId, at: now };
    if (invoice) {
      // Oldest due first; a VNPay order or a bill payment names the invoices it pays, which come first.
      const named = ev.transfer.invoiceIds ?? (ev.provider === 'vnpay' && invoice.invoice_id ? [invoice.invoice_id] : []);
      // A combined payment (bundle code) goes across its students' invoices in the plan's order.
      const order = invoice.bundle ? bundleOrder(ev.school_id, invoice.bundle, openOf) : namedFirst(openOf.get(`${ev.school_id}|${invoice.person_id}`) ?? [], named);
      const { allocations: split, leftoverVnd } = allocateOldestFirst(amount, order);
      for (const a of split) allocations.push({ school_id: ev.school_id, invoice_id: a.invoiceId, payment_id: paymentId, source: 'payment', amount_vnd: a.amountVnd, created_at: now });
      const receivable: EntryInput[] = invoice.bundle ? bundleReceivables(split, order) : [{ accountKind: 'receivable', accountKey: invoice.person_id, amountVnd: -(amount - leftoverVnd) }];
      journals.push({ ...journal, entries: [clearing, ...receivable, { accountKind: 'credit', accountKey: invoice.person_id, amountVnd: -leftoverVnd }] });
    } else {
      journals.push({ ...journal, entries: [clearing, { accountKind: 'suspense', accountKey: '', amountVnd: -amount }] });
      exceptions.push({
        school_id: ev.school_id,
        kind: mismatch !== undefined ? 'bank_reference_mismatch' : accountKnown(ev) ? 'unattributed' : 'unknown_account',
        bank_event_id: ev.id,
        payment_id: paymentId,
        amount_vnd: amount,
        details: JSON.stringify({ description: ev.transfer.description.slice(0, 500), account_number: ev.transfer.accountNumber, codes_found: candidateCodes(ev.transfer), ...(ev.transfer.toSuspense ? { note: ev.transfer.toSuspense } : {}), ...(mismatch !== undefined ? { bank_reference: ev.transfer.bankReference, recorded_amount_vnd: mismatch } : {}) }),
        created_at: now,
      });
    }
  }

  // Everything the batch records, in one statement: the rows reference each other, and the
  // foreign keys and the ledger's balance trigger are checked when the statement ends. The invoices'
  // paid amounts are derived in it from their allocation rows: those already stored (the statement's
  // snapshot) plus those it inserts; the invoices are locked, so no other allocation can come between.
  const ledger = journalRows(journals);
  const added = new Map<string, { schoolId: string; invoiceId: string; amount: number }>();
  for (const a of allocations) {
    const key = `${a.school_id as string}|${a.invoice_id as string}`;
    const sum = added.get(key) ?? { schoolId: a.school_id as string, invoiceId: a.invoice_id as string, amount: 0 };
    sum.amount += a.amount_vnd as number;
    added.set(key, sum);
  }
  const parts: Fragment[] = [
    ...(payments.length > 0 ? [unnestInsert('payments', PAYMENT_COLUMNS, [...payments].sort((x, y) => cmp(`${x.collection_account_id as string}|${x.bank_reference as string}`, `${y.collection_account_id as string}|${y.bank_reference as string}`)))] : []),
    ...(allocations.length > 0 ? [unnestInsert('allocations', ALLOCATION_COLUMNS, allocations)] : []),
    ...(added.size > 0
      ? [{
          sql: `UPDATE invoices i SET paid_vnd = d.paid, status = ${STATUS_FROM_PAID('d.paid')}
                FROM (SELECT t.school_id, t.invoice_id, t.added + coalesce((SELECT sum(x.amount_vnd) FROM allocations x WHERE x.school_id = t.school_id AND x.invoice_id = t.invoice_id), 0) AS paid
                      FROM unnest(?::text[], ?::text[], ?::bigint[]) AS t(school_id, invoice_id, added)) d
                WHERE i.school_id = d.school_id AND i.id = d.invoice_id AND i.status <> 'void'`,
          bindings: [[...added.values()].map((a) => a.schoolId), [...added.values()].map((a) => a.invoiceId), [...added.values()].map((a) => String(a.amount))],
        }]
      : []),
    ...(ledger.journals.length > 0 ? [unnestInsert('journals', JOURNAL_COLUMNS, ledger.journals), unnestInsert('ledger_entries', ENTRY_COLUMNS, ledger.entries)] : []),
    ...(exceptions.length > 0 ? [unnestInsert('payment_exceptions', EXCEPTION_COLUMNS, exceptions)] : []),
    ...(all.length > 0
      ? [{
          sql: `UPDATE bank_events ev SET status = t.status, processed_at = ? FROM unnest(?::text[], ?::text[], ?::text[]) AS t(school_id, id, status) WHERE ev.school_id = t.school_id AND ev.id = t.id`,
          bindings: [now, [...items.map((i) => i.ev.school_id), ...duplicates.map((e) => e.school_id)], [...items.map((i) => i.ev.id), ...duplicates.map((e) => e.id)], [...items.map(() => 'processed'), ...duplicates.map(() => 'duplicate')]],
        }]
      : []),
  ];
  if (parts.length > 0) await trx.raw(`WITH ${parts.map((p, n) => `w${n} AS (${p.sql})`).join(', ')} SELECT 1`, parts.flatMap((p) => p.bindings));
}

interface Verified {
  n: number;
  endpoint: Endpoint;
  transfer: StoredTransfer;
  reply: Reply;
  /** Outgoing and failed transfers record no payment. */
  ignored: boolean;
}

interface Stored {
  fresh: (Verified & { eventId: string })[];
  exceptions: Record<string, unknown>[];
}

/** Stores the events (a replay stores nothing) and settles the replies of replays; returns the new events and exceptions to raise. */
async function storeEvents(db: Db, notes: Notification[], verified: Verified[], replies: Reply[], now: Date, logger: PaymentDeps['logger']): Promise<Stored> {
  // Inserted in key order, as payments are below: two batches in flight that hold some of the same
  // keys then wait on each other in one order instead of deadlocking.
  const inKeyOrder = [...verified].sort((x, y) => cmp(eventKey(x.endpoint.school_id, x.endpoint.id, x.transfer.externalId), eventKey(y.endpoint.school_id, y.endpoint.id, y.transfer.externalId)));
  const store = unnestInsert('bank_events', EVENT_COLUMNS, inKeyOrder.map((v) => ({
    school_id: v.endpoint.school_id,
    endpoint_id: v.endpoint.id,
    provider: v.endpoint.provider,
    external_id: v.transfer.externalId,
    amount_vnd: v.transfer.amountVnd,
    direction: v.transfer.direction,
    account_number: v.transfer.accountNumber,
    description: v.transfer.description,
    transfer: JSON.stringify(v.transfer),
    raw_headers: JSON.stringify(notes[v.n]!.req.headers),
    raw_body: notes[v.n]!.req.rawBody.toString('utf8'),
    raw_query: JSON.stringify(notes[v.n]!.req.query),
    received_at: now,
    status: v.ignored ? 'ignored' : 'received',
    processed_at: v.ignored ? now : null,
    response_status: v.reply.status,
    response_body: JSON.stringify(v.reply.body),
  })));
  const { rows: inserted } = await db.raw<{ rows: { id: string; school_id: string; endpoint_id: string; external_id: string }[] }>(
    `${store.sql} ON CONFLICT (school_id, endpoint_id, external_id) DO NOTHING RETURNING id, school_id, endpoint_id, external_id`,
    store.bindings,
  );

  // The first notification of a key in the batch owns the stored row; any other is a replay.
  const storedId = new Map(inserted.map((r) => [eventKey(r.school_id, r.endpoint_id, r.external_id), r.id]));
  const fresh: Stored['fresh'] = [];
  const replays: Verified[] = [];
  for (const v of verified) {
    const key = eventKey(v.endpoint.school_id, v.endpoint.id, v.transfer.externalId);
    const eventId = storedId.get(key);
    if (eventId) {
      fresh.push({ ...v, eventId });
      replies[v.n] = v.reply;
      storedId.delete(key);
    } else {
      replays.push(v);
    }
  }

  const exceptions: Record<string, unknown>[] = [];
  if (replays.length > 0) {
    const stored = await db('bank_events')
      .whereIn(['school_id', 'endpoint_id', 'external_id'], replays.map((v) => [v.endpoint.school_id, v.endpoint.id, v.transfer.externalId]))
      .select<{ id: string; school_id: string; endpoint_id: string; external_id: string; amount_vnd: string; response_status: number; response_body: unknown }[]>('id', 'school_id', 'endpoint_id', 'external_id', 'amount_vnd', 'response_status', 'response_body');
    const storedOf = new Map(stored.map((s) => [eventKey(s.school_id, s.endpoint_id, s.external_id), s]));
    for (const v of replays) {
      const existing = storedOf.get(eventKey(v.endpoint.school_id, v.endpoint.id, v.transfer.externalId))!;
      if (parseVnd(existing.amount_vnd) === v.transfer.amountVnd) {
        replies[v.n] = { status: existing.response_status, body: existing.response_body };
        continue;
      }
      exceptions.push({
        school_id: v.endpoint.school_id,
        kind: 'external_id_amount_mismatch',
        bank_event_id: existing.id,
        amount_vnd: v.transfer.amountVnd,
        details: JSON.stringify({ stored_amount_vnd: parseVnd(existing.amount_vnd), replayed_amount_vnd: v.transfer.amountVnd }),
        created_at: now,
      });
      logger.warn({ provider: v.endpoint.provider, event_id: existing.id }, 'bank notification replayed with a different amount');
      replies[v.n] = { status: 409, body: { error: 'a notification with this id was received with a different amount' } };
    }
  }
  // The account's balance moved: reconciliation needs to know, an accountant should look.
  for (const v of fresh.filter((f) => f.transfer.direction === 'out')) {
    exceptions.push({ school_id: v.endpoint.school_id, kind: 'outgoing_transfer', bank_event_id: v.eventId, amount_vnd: v.transfer.amountVnd, details: JSON.stringify({ description: v.transfer.description.slice(0, 500) }), payment_id: null, created_at: now });
  }
  return { fresh, exceptions };
}

/** Takes providers' notifications from the wire to stored and processed events; one reply each, in order. */
export async function receiveBankNotifications(deps: PaymentDeps, notes: Notification[]): Promise<Reply[]> {
  const now = deps.clock.now();
  const replies: Reply[] = new Array<Reply>(notes.length);
  const endpoints = await deps.db('bank_endpoints as e')
    .join('collection_accounts as a', (j) => j.on('a.school_id', '=', 'e.school_id').andOn('a.id', '=', 'e.collection_account_id'))
    .whereIn('e.id', [...new Set(notes.map((n) => n.endpointId))])
    .select<Endpoint[]>('e.id', 'e.school_id', 'e.provider', 'e.secret', 'e.collection_account_id', 'a.account_number');
  const endpointOf = new Map(endpoints.map((e) => [e.id, e]));

  const verified: Verified[] = [];
  notes.forEach((note, n) => {
    const adapter = BANK_ADAPTERS[note.provider];
    const endpoint = endpointOf.get(note.endpointId);
    const check = endpoint && endpoint.provider === note.provider ? adapter.verify(note.req, endpoint.secret, now) : { ok: false as const, reason: 'unknown endpoint' };
    if (!check.ok) {
      deps.logger.warn({ provider: note.provider, endpoint_id: note.endpointId, reason: check.reason }, 'bank notification rejected');
      replies[n] = adapter.respond('invalid_signature');
      return;
    }
    const parsed = adapter.parse(note.req);
    if (!parsed.ok) {
      deps.logger.warn({ provider: note.provider, endpoint_id: note.endpointId, reason: maskPersonalIdsInText(parsed.reason), param: parsed.param }, 'bank notification malformed');
      replies[n] = adapter.respond('malformed');
      return;
    }
    verified.push({ n, endpoint: endpoint!, transfer: parsed.transfer, reply: adapter.respond('accepted'), ignored: parsed.transfer.direction === 'out' || !parsed.transfer.succeeded });
  });
  if (verified.length === 0) return replies;

  // One lookup serves both VNPay's reply (the order's invoice) and attribution (an issued invoice's
  // student and code never change, so it may be read before the transaction).
  const asEvent = (v: Verified) => ({ school_id: v.endpoint.school_id, provider: v.endpoint.provider, transfer: v.transfer, account_number: v.endpoint.account_number, collection_account_id: v.endpoint.collection_account_id });
  const found = await lookUp(deps.db, verified.map(asEvent));
  const invoices = found.invoices;
  // Orders this batch confirms: a second IPN for one of them (another transaction id) finds it paid,
  // as it would have a moment later. A replay of the same id is answered from the stored row.
  const confirmed = new Map<string, string>();
  for (const v of verified.filter((x) => x.endpoint.provider === 'vnpay')) {
    const orderKey = `${v.endpoint.school_id}|${(v.transfer.paymentCodeHint ?? '').toUpperCase()}`;
    const order = invoices.get(orderKey);
    const confirmedBy = confirmed.get(orderKey);
    // A failed VNPay transaction is still confirmed as received; it simply records no payment.
    const outcome: Outcome = !order
      ? 'order_not_found'
      : order.status === 'paid' || (confirmedBy !== undefined && confirmedBy !== v.transfer.externalId)
        ? 'already_confirmed'
        : parseVnd(order.total_vnd) - parseVnd(order.paid_vnd) !== v.transfer.amountVnd ? 'invalid_amount' : 'accepted';
    if (outcome === 'accepted' && v.transfer.succeeded) confirmed.set(orderKey, v.transfer.externalId);
    if (outcome !== 'accepted') {
      v.reply = BANK_ADAPTERS.vnpay.respond(outcome);
      // Money that arrived is never dropped: a successful VNPay payment whose order we refuse
      // (already paid, changed amount, unknown) goes to suspense with an exception, for the
      // accountant to check against VNPay.
      v.transfer.toSuspense = `vnpay replied ${outcome}`;
    }
  }

  const payable = (s: Stored) => s.fresh.filter((v) => !v.ignored);
  const toEvent = (v: Stored['fresh'][number]): PayableEvent => ({ id: v.eventId, school_id: v.endpoint.school_id, provider: v.endpoint.provider, transfer: v.transfer, collection_account_id: v.endpoint.collection_account_id, account_number: v.endpoint.account_number });
  try {
    await deps.db.transaction(async (trx) => {
      const stored = await storeEvents(trx, notes, verified, replies, now, deps.logger);
      await recordPayments(trx, payable(stored).map((v) => ({ ev: toEvent(v), invoice: attributionFor(toEvent(v), found) })), found.recordedReferences, stored.exceptions, now);
    });
  } catch (err) {
    // The money exists whatever went wrong: store the events alone, then process them one by one
    // (each failure is logged and the event stays 'received' for the retry job).
    deps.logger.error({ err: err instanceof Error ? err.message : String(err), notifications: verified.length }, 'storing and processing bank events together failed; storing alone');
    const stored = await storeEvents(deps.db, notes, verified, replies, now, deps.logger);
    if (stored.exceptions.length > 0) await deps.db('payment_exceptions').insert(stored.exceptions);
    await processBankEventsIsolated(deps, payable(stored).map((v) => ({ schoolId: v.endpoint.school_id, eventId: v.eventId })));
  }
  return replies;
}

export interface EventRef {
  schoolId: string;
  eventId: string;
}

/** Processes stored events in one transaction (repeatable: events already processed are left alone). */
export async function processBankEvents(deps: Pick<PaymentDeps, 'db' | 'clock'>, refs: EventRef[]): Promise<void> {
  if (refs.length === 0) return;
  const now = deps.clock.now();
  await deps.db.transaction(async (trx) => {
    // Locked in one global order (school, id), whoever calls, so a live fallback and the retry job
    // cannot deadlock on each other; then taken in the order given (the order the money arrived).
    const { rows: locked } = await trx.raw<{ rows: (PayableEvent & { n: string })[] }>(
      `SELECT ev.id, ev.school_id, ev.provider, ev.transfer, e.collection_account_id, a.account_number, t.n
       FROM bank_events ev
       JOIN unnest(?::text[], ?::text[]) WITH ORDINALITY AS t(school_id, id, n) ON ev.school_id = t.school_id AND ev.id = t.id
       JOIN bank_endpoints e ON e.school_id = ev.school_id AND e.id = ev.endpoint_id
       JOIN collection_accounts a ON a.school_id = e.school_id AND a.id = e.collection_account_id
       WHERE ev.status = 'received'
       ORDER BY ev.school_id, ev.id
       FOR UPDATE OF ev`,
      [refs.map((r) => r.schoolId), refs.map((r) => r.eventId)],
    );
    const events = locked.sort((x, y) => Number(x.n) - Number(y.n));
    if (events.length === 0) return;
    const found = await lookUp(trx, events);
    await recordPayments(trx, events.map((ev) => ({ ev, invoice: attributionFor(ev, found) })), found.recordedReferences, [], now);
  });
}

export async function processBankEvent(deps: Pick<PaymentDeps, 'db' | 'clock'>, schoolId: string, eventId: string): Promise<void> {
  await processBankEvents(deps, [{ schoolId, eventId }]);
}

/**
 * Processes a batch; if the batch fails, each event alone, so one event that keeps failing does not
 * hold back the others (it stays 'received' and is logged, for the next retry). Returns how many
 * were processed.
 */
export async function processBankEventsIsolated(deps: Pick<PaymentDeps, 'db' | 'clock' | 'logger'>, refs: EventRef[]): Promise<number> {
  if (refs.length === 0) return 0;
  try {
    await processBankEvents(deps, refs);
    return refs.length;
  } catch (err) {
    if (refs.length === 1) {
      deps.logger.error({ event_id: refs[0]!.eventId, err: err instanceof Error ? err.message : String(err) }, 'bank event processing failed');
      return 0;
    }
  }
  let processed = 0;
  for (const ref of refs) processed += await processBankEventsIsolated(deps, [ref]);
  return processed;
}

/** Processes events that were stored but not processed (a crash between the two steps, or a failure). */
export async function processPendingBankEvents(deps: Pick<PaymentDeps, 'db' | 'clock' | 'logger'>, olderThan?: Date): Promise<number> {
  let processed = 0;
  let after: [Date, string] = [new Date(0), ''];
  for (;;) {
    // Oldest first, so payments are allocated in the order the money arrived.
    const q = deps.db('bank_events').where({ status: 'received' }).whereRaw('(received_at, id) > (?, ?)', after);
    if (olderThan) q.where('received_at', '<', olderThan);
    const pending = await q.orderBy([{ column: 'received_at' }, { column: 'id' }]).limit(500).select<{ school_id: string; id: string; received_at: Date }[]>('school_id', 'id', 'received_at');
    if (pending.length === 0) return processed;
    processed += await processBankEventsIsolated(deps, pending.map((e) => ({ schoolId: e.school_id, eventId: e.id })));
    const last = pending[pending.length - 1]!;
    after = [last.received_at, last.id];
  }
}
