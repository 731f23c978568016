import type { Knex } from 'knex';
import type { Db } from '../../db/knex';
import { NotFoundError, UnprocessableError } from '../../http/errors';
import type { Clock } from '../../lib/clock';
import { vietnamDate } from '../../lib/clock';
import { parseVnd } from '../../lib/money';
import { maskPersonalId } from '../../lib/personal-id';
import { requireSchoolInScope, type Principal } from '../access/access.service';
import * as repo from './reports.repository';
import {
  AGEING_BUCKETS,
  COLLECTION_CHANNELS,
  type AgeingAmounts,
  type AgeingReport,
  type AgeingRow,
  type CollectionChannel,
  type DefaultersReport,
  type MonthEndBalances,
  type MonthlyRevenueReport,
  type ReportScope,
  type RevenueFigures,
} from './reports.types';

export interface ReportContext {
  db: Knex;
  clock: Clock;
  principal: Principal;
}

/** Where a report is asked for: one school, a district (by code) or a city (by code). */
export type ScopeRequest = { level: 'school'; schoolId: string } | { level: 'district'; districtCode: string } | { level: 'city'; cityCode: string };

interface ResolvedScope {
  scope: ReportScope;
  schools: repo.SchoolPlacementRow[];
}

// ---- months and days ---------------------------------------------------------------------------

/** "YYYY-MM" -> its first day, last day and the instant it ends (24:00 in Vietnam). */
export function monthBounds(month: string): { firstDay: string; lastDay: string; endsAt: Date } {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const next = new Date(Date.UTC(y, m, 1));
  const last = new Date(next.getTime() - 86_400_000);
  return { firstDay: `${month}-01`, lastDay: last.toISOString().slice(0, 10), endsAt: new Date(next.getTime() - 7 * 3_600_000) };
}

/** The instant a Vietnam day ends. */
function dayEndsAt(day: string): Date {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000 - 7 * 3_600_000);
}

export function currentMonth(clock: Clock): string {
  return vietnamDate(clock.now()).slice(0, 7);
}

function refuseFutureMonth(clock: Clock, month: string): void {
  if (month > currentMonth(clock)) throw new UnprocessableError('MONTH_IN_FUTURE', 'A report can only be made for this month or an earlier one.', 'month');
}

// ---- scope -------------------------------------------------------------------------------------

/**
 * A school report: staff of the school and finance officers whose scope holds it. A district:
 * officers of that district or of its city. A city: officers of the whole city. Anything else is
 * 404, so codes cannot be probed.
 */
export async function resolveScope(db: Db, principal: Principal, request: ScopeRequest): Promise<ResolvedScope> {
  if (request.level === 'school') {
    await requireSchoolInScope(db, principal, request.schoolId);
    const schools = await repo.findSchoolsWhere(db, { schoolId: request.schoolId });
    const s = schools[0]!;
    return {
      scope: { level: 'school', school_id: s.id, school_name: s.name, district_code: s.district_code, district_name: s.district_name, province_code: s.city_code, province_name: s.city_name },
      schools,
    };
  }
  if (request.level === 'district') {
    const cityIds = [...new Set(principal.finance.map((f) => f.cityId))];
    const district = cityIds.length > 0 ? await repo.findDistrictByCode(db, request.districtCode, cityIds) : undefined;
    if (!district || !principal.finance.some((f) => f.cityId === district.city_id && (f.districtId === null || f.districtId === district.id))) {
      throw new NotFoundError('DISTRICT_NOT_FOUND', 'No such district.', 'district_code');
    }
    return {
      scope: { level: 'district', district_code: district.code, district_name: district.name, province_code: district.city_code, province_name: district.city_name },
      schools: await repo.findSchoolsWhere(db, { districtId: district.id }),
    };
  }
  const city = await repo.findCityByCode(db, request.cityCode);
  if (!city || !principal.finance.some((f) => f.cityId === city.id && f.districtId === null)) throw new NotFoundError('CITY_NOT_FOUND', 'No such city.', 'city_code');
  return { scope: { level: 'city', province_code: city.code, province_name: city.name }, schools: await repo.findSchoolsWhere(db, { cityId: city.id }) };
}

// ---- revenue -----------------------------------------------------------------------------------

type FigureRow = Omit<repo.SchoolMonthRow, 'school_id' | 'outstanding_vnd' | 'credit_balance_vnd' | 'refunded_vnd'>;

function figuresOf(r: FigureRow): RevenueFigures {
  const byChannel: Record<CollectionChannel, number> = {
    bill_payment: parseVnd(r.bill_payment_vnd ?? 0),
    qr_transfer: parseVnd(r.qr_transfer_vnd ?? 0),
    vnpay: parseVnd(r.vnpay_vnd ?? 0),
    manual: parseVnd(r.manual_vnd ?? 0),
    statement: parseVnd(r.statement_vnd ?? 0),
  };
  const billed = parseVnd(r.billed_vnd ?? 0);
  const exempted = parseVnd(r.exempted_vnd ?? 0);
  const discounted = parseVnd(r.discounted_vnd ?? 0);
  return {
    billed_vnd: billed,
    exempted_vnd: exempted,
    discounted_vnd: discounted,
    net_billed_vnd: billed - exempted - discounted,
    collected_vnd: COLLECTION_CHANNELS.reduce((sum, c) => sum + byChannel[c], 0),
    collected_by_channel_vnd: byChannel,
    credit_notes_vnd: parseVnd(r.credit_notes_vnd ?? 0),
    credit_applied_vnd: parseVnd(r.credit_applied_vnd ?? 0),
  };
}

function addFigures(a: RevenueFigures & MonthEndBalances, b: RevenueFigures & MonthEndBalances): RevenueFigures & MonthEndBalances {
  const byChannel = { ...a.collected_by_channel_vnd };
  for (const c of COLLECTION_CHANNELS) byChannel[c] += b.collected_by_channel_vnd[c];
  return {
    billed_vnd: a.billed_vnd + b.billed_vnd,
    exempted_vnd: a.exempted_vnd + b.exempted_vnd,
    discounted_vnd: a.discounted_vnd + b.discounted_vnd,
    net_billed_vnd: a.net_billed_vnd + b.net_billed_vnd,
    collected_vnd: a.collected_vnd + b.collected_vnd,
    collected_by_channel_vnd: byChannel,
    credit_notes_vnd: (a.credit_notes_vnd ?? 0) + (b.credit_notes_vnd ?? 0),
    credit_applied_vnd: (a.credit_applied_vnd ?? 0) + (b.credit_applied_vnd ?? 0),
    outstanding_vnd: a.outstanding_vnd + b.outstanding_vnd,
    credit_balance_vnd: a.credit_balance_vnd + b.credit_balance_vnd,
    refunded_vnd: a.refunded_vnd + b.refunded_vnd,
  };
}

const ZERO: RevenueFigures & MonthEndBalances = {
  billed_vnd: 0, exempted_vnd: 0, discounted_vnd: 0, net_billed_vnd: 0, collected_vnd: 0,
  collected_by_channel_vnd: { bill_payment: 0, qr_transfer: 0, vnpay: 0, manual: 0, statement: 0 },
  credit_notes_vnd: 0, credit_applied_vnd: 0, outstanding_vnd: 0, credit_balance_vnd: 0, refunded_vnd: 0,
};

/**
 * The month's revenue report for the schools of a scope, from the roll-up tables only: a few rows
 * per school and fee item, however long the history. `db` may be a transaction (closing uses it).
 */
export async function buildRevenueReport(db: Db, resolved: ResolvedScope, month: string, generatedAt: Date): Promise<MonthlyRevenueReport> {
  const ids = resolved.schools.map((s) => s.id);
  const { firstDay, lastDay, endsAt } = monthBounds(month);
  const [perSchool, items, receipts, exceptions, late, closedCount] = await Promise.all([
    repo.schoolMonthFigures(db, ids, firstDay),
    repo.feeItemMonthFigures(db, ids, firstDay),
    repo.receiptMonthFigures(db, ids, firstDay),
    repo.openExceptions(db, ids, endsAt, lastDay),
    repo.lateEvents(db, ids, firstDay),
    repo.countClosedSchools(db, ids, firstDay),
  ]);
  const exceptionsBySchool = new Map(exceptions.map((e) => [e.school_id, { count: Number(e.count), amount: parseVnd(e.amount_vnd) }]));
  const figuresBySchool = new Map(perSchool.map((r) => [r.school_id, r]));
  let totals = ZERO;
  const schools = resolved.schools.map((s) => {
    const r = figuresBySchool.get(s.id)!;
    const row = { ...figuresOf(r), outstanding_vnd: parseVnd(r.outstanding_vnd), credit_balance_vnd: parseVnd(r.credit_balance_vnd), refunded_vnd: parseVnd(r.refunded_vnd) };
    totals = addFigures(totals, row);
    const exc = exceptionsBySchool.get(s.id) ?? { count: 0, amount: 0 };
    return { school_id: s.id, school_name: s.name, district_code: s.district_code, district_name: s.district_name, ...row, open_exceptions: exc.count, open_exceptions_vnd: exc.amount };
  });
  const single = resolved.scope.level === 'school';
  return {
    month,
    scope: resolved.scope,
    generated_at: generatedAt.toISOString(),
    closed: ids.length > 0 && closedCount === ids.length,
    snapshot: null,
    totals,
    fee_items: items.map((i) => ({ fee_item_code: i.fee_item_code, fee_item_name: i.fee_item_name, ...figuresOf(i) })),
    receipts: receipts.map((r) => ({
      series: `${r.template_code} ${r.symbol}`,
      // Numbers are per school: a first and last number across schools would mean nothing.
      first_number: Number(r.schools) === 1 ? r.first_number : null,
      last_number: Number(r.schools) === 1 ? r.last_number : null,
      issued_count: Number(r.issued_count),
      cancelled_count: Number(r.cancelled_count),
      amount_vnd: parseVnd(r.amount_vnd),
    })),
    reconciliation: { open_exceptions: schools.reduce((n, s) => n + s.open_exceptions, 0), open_exceptions_vnd: schools.reduce((n, s) => n + s.open_exceptions_vnd, 0) },
    schools: single ? [] : schools,
    late_events: late.map((l) => ({ concerns_month: l.concerns_month, events: Number(l.events) })),
  };
}

/**
 * The revenue report of a scope. A school's closed month is its stored snapshot: `stored` holds
 * the exact bytes kept at closing, which the API serves unchanged.
 */
export async function getRevenueReport(ctx: ReportContext, request: ScopeRequest, month: string): Promise<{ report: MonthlyRevenueReport; stored: string | null }> {
  refuseFutureMonth(ctx.clock, month);
  const resolved = await resolveScope(ctx.db, ctx.principal, request);
  if (request.level === 'school') {
    const closed = await repo.findClosedMonth(ctx.db, request.schoolId, monthBounds(month).firstDay);
    if (closed) return { report: JSON.parse(closed.report_json) as MonthlyRevenueReport, stored: closed.report_json };
  }
  return { report: await buildRevenueReport(ctx.db, resolved, month, ctx.clock.now()), stored: null };
}

// ---- ageing and defaulters ---------------------------------------------------------------------

function refuseFutureDay(clock: Clock, day: string): void {
  if (day > vietnamDate(clock.now())) throw new UnprocessableError('DATE_IN_FUTURE', 'A report can only be made as of today or an earlier day.', 'as_of');
}

function amountsOf(r: Pick<repo.AgeingSqlRow, 'current' | 'days_1_30' | 'days_31_60' | 'days_61_90' | 'days_over_90'>): AgeingAmounts {
  const a = {} as AgeingAmounts;
  let total = 0;
  for (const b of AGEING_BUCKETS) {
    a[b] = parseVnd(r[b]);
    total += a[b];
  }
  a.total_vnd = total;
  return a;
}

/**
 * Receivables by how long they are past due on `asOf` (end of that Vietnam day): per school and
 * fee item, and per class for a school report. Partial payments and credit notes are netted.
 */
export async function getAgeingReport(ctx: ReportContext, request: ScopeRequest, asOf: string | undefined): Promise<AgeingReport> {
  const today = vietnamDate(ctx.clock.now());
  const day = asOf ?? today;
  refuseFutureDay(ctx.clock, day);
  const resolved = await resolveScope(ctx.db, ctx.principal, request);
  const rows = await repo.ageingRows(ctx.db, resolved.schools.map((s) => s.id), day, dayEndsAt(day), day >= today, request.level === 'school');
  const order = { school: 0, class: 1, fee_item: 2 } as const;
  const out: AgeingRow[] = rows
    .map((r) => ({ group: r.grp, key: r.key, label: r.label, school_id: r.school_id, ...amountsOf(r) }))
    .sort((a, b) => a.school_id.localeCompare(b.school_id) || order[a.group] - order[b.group] || a.label.localeCompare(b.label, 'vi') || a.key.localeCompare(b.key));
  const totals = amountsOf({ current: '0', days_1_30: '0', days_31_60: '0', days_61_90: '0', days_over_90: '0' });
  for (const r of out.filter((x) => x.group === 'school')) {
    for (const b of AGEING_BUCKETS) totals[b] += r[b];
    totals.total_vnd += r.total_vnd;
  }
  return { as_of: day, scope: resolved.scope, generated_at: ctx.clock.now().toISOString(), totals, rows: out };
}

/**
 * Students with an invoice past due on `asOf` and something still owed on it: what was billed net
 * of approved exemptions, discounts and credit notes, less what was paid (a partial payment lowers
 * the amount, a full one removes the line; a fully exempt invoice owes nothing).
 */
export async function getDefaultersReport(ctx: ReportContext, schoolId: string, asOf: string | undefined): Promise<DefaultersReport> {
  const today = vietnamDate(ctx.clock.now());
  const day = asOf ?? today;
  refuseFutureDay(ctx.clock, day);
  const resolved = await resolveScope(ctx.db, ctx.principal, { level: 'school', schoolId });
  const unmasked = ctx.principal.staff.some((s) => s.schoolId === schoolId);
  const rows = await repo.defaulterRows(ctx.db, schoolId, day, dayEndsAt(day), day >= today);
  return {
    as_of: day,
    scope: resolved.scope,
    generated_at: ctx.clock.now().toISOString(),
    rows: rows.map((r) => ({
      student_id: r.person_id,
      personal_id: unmasked ? r.personal_id : maskPersonalId(r.personal_id),
      full_name: r.full_name,
      school_id: r.school_id,
      class_name: r.class_name,
      invoice_id: r.id,
      invoice_number: `${r.series}/${String(r.number).padStart(6, '0')}`,
      due_on: r.due_on,
      days_past_due: Number(r.days_past_due),
      net_vnd: parseVnd(r.total_vnd) - parseVnd(r.credited_vnd),
      paid_vnd: parseVnd(r.paid_vnd),
      outstanding_vnd: parseVnd(r.outstanding_vnd),
    })),
  };
}
