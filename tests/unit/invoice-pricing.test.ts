import fc from 'fast-check';
import { priceInvoice, type PricedItem, type PricingInput } from '../../src/modules/invoices/invoice-pricing';

const item = (over: Partial<PricedItem>): PricedItem => ({ feeItemId: 'fee_a', code: 'A', name: 'Khoản A', unit: 'month', exemptible: false, optional: false, amountVnd: 100000, ...over });
const base = (over: Partial<PricingInput>): PricingInput => ({
  periodKind: 'month', schoolDaysInPeriod: 20, attendableDays: 20, items: [], optionalItemIds: new Set(), exemptionPercent: 0, discounts: [], ...over,
});

describe('pricing an invoice', () => {
  test('a month bills monthly items once and meals per attendable school day', () => {
    const priced = priceInvoice(base({ items: [item({}), item({ feeItemId: 'fee_m', code: 'M', unit: 'school_day', amountVnd: 35000 }), item({ feeItemId: 'fee_y', code: 'Y', unit: 'year' })] }));
    expect(priced.lines.map((l) => [l.feeItemId, l.quantity, l.totalVnd])).toEqual([['fee_a', 1, 100000], ['fee_m', 20, 700000]]);
    expect(priced.totalVnd).toBe(800000);
  });

  test('mid-month enrolment prorates monthly items by school days (half-up to the dong)', () => {
    const priced = priceInvoice(base({ attendableDays: 7, schoolDaysInPeriod: 22, items: [item({ amountVnd: 250000 })] }));
    expect(priced.lines[0]).toMatchObject({ grossVnd: 79545, totalVnd: 79545 }); // 250000 * 7 / 22 = 79545.45
  });

  test('an exemption applies to exemptible items only; discounts are their own lines and never go below zero', () => {
    const priced = priceInvoice(base({
      exemptionPercent: 70,
      items: [item({ feeItemId: 'fee_t', code: 'T', exemptible: true, amountVnd: 300001 }), item({ feeItemId: 'fee_b', code: 'B', amountVnd: 50000 })],
      discounts: [{ feeItemId: 'fee_b', percent: null, amountVnd: 80000, reasonCode: 'SIBLING' }],
    }));
    expect(priced.lines).toEqual([
      expect.objectContaining({ feeItemId: 'fee_b', kind: 'fee', totalVnd: 50000, exemptionVnd: 0 }),
      expect.objectContaining({ feeItemId: 'fee_b', kind: 'discount', totalVnd: -50000, reasonCode: 'SIBLING' }),
      expect.objectContaining({ feeItemId: 'fee_t', kind: 'fee', grossVnd: 300001, exemptionPercent: 70, exemptionVnd: 210001, totalVnd: 90000 }),
    ]);
  });

  test('voluntary items need an enrolment', () => {
    const items = [item({ optional: true })];
    expect(priceInvoice(base({ items })).lines).toEqual([]);
    expect(priceInvoice(base({ items, optionalItemIds: new Set(['fee_a']) })).totalVnd).toBe(100000);
  });

  test('for any amounts, percentages and days, lines are whole dong, fee lines non-negative, and they sum exactly to the total', () => {
    const arbItem = fc.record({
      feeItemId: fc.constantFrom('fee_1', 'fee_2', 'fee_3', 'fee_4'),
      unit: fc.constantFrom('month', 'school_day', 'term', 'year', 'one_off') as fc.Arbitrary<PricedItem['unit']>,
      exemptible: fc.boolean(),
      amountVnd: fc.integer({ min: 0, max: 50_000_000 }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(arbItem, { selector: (i) => i.feeItemId, maxLength: 4 }),
        fc.constantFrom('month', 'term', 'year') as fc.Arbitrary<PricingInput['periodKind']>,
        fc.integer({ min: 1, max: 120 }),
        fc.nat({ max: 120 }),
        fc.constantFrom(0, 50, 70, 100),
        fc.array(fc.record({ feeItemId: fc.constantFrom('fee_1', 'fee_2', 'fee_3', 'fee_4'), percent: fc.option(fc.double({ min: 0.01, max: 100, noNaN: true }), { nil: null }), amountVnd: fc.integer({ min: 1, max: 60_000_000 }), reasonCode: fc.constantFrom('SIBLING', 'HARDSHIP') }), { maxLength: 4 }),
        (items, periodKind, daysInPeriod, attendable, exemptionPercent, discounts) => {
          const priced = priceInvoice({
            periodKind,
            schoolDaysInPeriod: daysInPeriod,
            attendableDays: Math.min(attendable, daysInPeriod),
            items: items.map((i) => item({ ...i, code: i.feeItemId })),
            optionalItemIds: new Set(),
            exemptionPercent,
            discounts: discounts.map((d) => ({ ...d, amountVnd: d.percent === null ? d.amountVnd : null })),
          });
          for (const l of priced.lines) {
            expect(Number.isSafeInteger(l.totalVnd)).toBe(true);
            if (l.kind === 'fee') {
              expect(l.totalVnd).toBeGreaterThanOrEqual(0);
              expect(l.totalVnd).toBe(l.grossVnd - l.exemptionVnd);
              expect(l.exemptionVnd).toBeLessThanOrEqual(l.grossVnd);
            }
          }
          // Per item, discounts never exceed what the item charges.
          for (const id of new Set(priced.lines.map((l) => l.feeItemId))) {
            expect(priced.lines.filter((l) => l.feeItemId === id).reduce((s, l) => s + l.totalVnd, 0)).toBeGreaterThanOrEqual(0);
          }
          expect(priced.totalVnd).toBe(priced.lines.reduce((s, l) => s + l.totalVnd, 0));
          expect(priced.totalVnd).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
