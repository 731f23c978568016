import { percentOf, prorate } from '../../lib/money';

/**
 * Prices one student's invoice for a period: pure, so it can be tested for every combination and
 * run over thousands of students in one batch. Money rules (DESIGN.md 3): integer dong, fractions
 * only through src/lib/money.ts, exemptions on exemptible items (only the highest applies, chosen
 * by the caller), discounts as explicit lines with a reason code, never a lowered price.
 */
export type PeriodKind = 'month' | 'term' | 'year';
export type FeeUnit = 'month' | 'school_day' | 'term' | 'year' | 'one_off';

/** Which item units a period bills: months bill monthly and per-day items, and so on. */
export const UNITS_BILLED: Record<PeriodKind, FeeUnit[]> = {
  month: ['month', 'school_day'],
  term: ['term'],
  year: ['year', 'one_off'],
};

export interface PricedItem {
  feeItemId: string;
  code: string;
  name: string;
  unit: FeeUnit;
  exemptible: boolean;
  optional: boolean;
  amountVnd: number;
}

export interface DiscountGrant {
  feeItemId: string;
  percent: number | null;
  amountVnd: number | null;
  reasonCode: string;
}

export interface PricingInput {
  periodKind: PeriodKind;
  /** Days the school is open within the period. */
  schoolDaysInPeriod: number;
  /** Of those, the days the student is enrolled (mid-period arrivals and departures). */
  attendableDays: number;
  items: PricedItem[];
  /** Voluntary items the student is enrolled in during the period. */
  optionalItemIds: ReadonlySet<string>;
  /** The highest approved exemption valid in the period: 0, 50, 70 or 100. */
  exemptionPercent: number;
  discounts: DiscountGrant[];
}

export interface PricedLine {
  kind: 'fee' | 'discount';
  feeItemId: string;
  description: string;
  quantity: number;
  unitAmountVnd: number;
  grossVnd: number;
  exemptionPercent: number;
  exemptionVnd: number;
  totalVnd: number;
  reasonCode: string | null;
}

export interface PricedInvoice {
  lines: PricedLine[];
  totalVnd: number;
}

function grossFor(item: PricedItem, input: PricingInput): { quantity: number; grossVnd: number; note: string } {
  if (item.unit === 'school_day') {
    return { quantity: input.attendableDays, grossVnd: item.amountVnd * input.attendableDays, note: ` (${input.attendableDays} ngày học)` };
  }
  if ((item.unit === 'month' || item.unit === 'term') && input.attendableDays < input.schoolDaysInPeriod) {
    // Mid-period enrolment: charge the share of school days the student can attend.
    const grossVnd = prorate(item.amountVnd, input.attendableDays, input.schoolDaysInPeriod);
    return { quantity: 1, grossVnd, note: ` (tính theo ${input.attendableDays}/${input.schoolDaysInPeriod} ngày học)` };
  }
  return { quantity: 1, grossVnd: item.amountVnd, note: '' };
}

/** The invoice lines and total for one student; an empty result means nothing to bill. */
export function priceInvoice(input: PricingInput): PricedInvoice {
  if (input.attendableDays <= 0 && input.periodKind !== 'year') return { lines: [], totalVnd: 0 };
  const billable = input.items
    .filter((i) => UNITS_BILLED[input.periodKind].includes(i.unit))
    .filter((i) => !i.optional || input.optionalItemIds.has(i.feeItemId))
    .sort((a, b) => a.code.localeCompare(b.code));

  const lines: PricedLine[] = [];
  for (const item of billable) {
    const { quantity, grossVnd, note } = grossFor(item, input);
    if (grossVnd === 0) continue;
    const exemptionPercent = item.exemptible ? input.exemptionPercent : 0;
    const exemptionVnd = exemptionPercent > 0 ? percentOf(grossVnd, exemptionPercent) : 0;
    const netVnd = grossVnd - exemptionVnd;
    lines.push({
      kind: 'fee',
      feeItemId: item.feeItemId,
      description: `${item.name}${note}`,
      quantity,
      unitAmountVnd: item.amountVnd,
      grossVnd,
      exemptionPercent,
      exemptionVnd,
      totalVnd: netVnd,
      reasonCode: null,
    });
    // Discounts never take an item below zero; each is its own line with its reason.
    let remainingVnd = netVnd;
    for (const d of input.discounts.filter((g) => g.feeItemId === item.feeItemId).sort((a, b) => a.reasonCode.localeCompare(b.reasonCode))) {
      if (remainingVnd === 0) break;
      const wanted = d.percent !== null ? percentOf(netVnd, d.percent) : (d.amountVnd ?? 0);
      const discountVnd = Math.min(wanted, remainingVnd);
      if (discountVnd === 0) continue;
      remainingVnd -= discountVnd;
      lines.push({
        kind: 'discount',
        feeItemId: item.feeItemId,
        description: `Giảm ${item.name} (${d.reasonCode})`,
        quantity: 1,
        unitAmountVnd: 0,
        grossVnd: 0,
        exemptionPercent: 0,
        exemptionVnd: 0,
        totalVnd: -discountVnd,
        reasonCode: d.reasonCode,
      });
    }
  }
  return { lines, totalVnd: lines.reduce((sum, l) => sum + l.totalVnd, 0) };
}
