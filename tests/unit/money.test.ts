import fc from 'fast-check';
import Decimal from 'decimal.js';
import {
  ROUNDING,
  assertVnd,
  formatVnd,
  groupVnd,
  parseVnd,
  percentOf,
  prorate,
  roundVnd,
  splitEvenly,
  splitLargestRemainder,
} from '../../src/lib/money';

describe('money in whole dong (DESIGN.md section 3)', () => {
  describe('rounding', () => {
    test('the one rounding rule is half-up', () => {
      expect(ROUNDING).toBe(Decimal.ROUND_HALF_UP);
    });

    test('a fraction of exactly one half rounds up to the next dong, anything less rounds down', () => {
      expect(roundVnd('2.5')).toBe(3);
      expect(roundVnd('2.4999999999')).toBe(2);
      expect(roundVnd(new Decimal(1).dividedBy(3))).toBe(0);
      expect(roundVnd('1234567.5')).toBe(1234568);
    });

    test('a negative half rounds away from zero and a tiny negative becomes plain 0, not -0', () => {
      expect(roundVnd('-2.5')).toBe(-3);
      expect(Object.is(roundVnd('-0.4'), 0)).toBe(true);
    });

    test('an amount that does not fit a safe integer is refused rather than rounded silently', () => {
      expect(() => roundVnd('9007199254740992')).toThrow(RangeError);
      expect(() => roundVnd(Number.NaN)).toThrow(RangeError);
      expect(() => roundVnd(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    });
  });

  describe('parsing what pg returns for bigint columns', () => {
    test('reads the largest safe integer exactly, and signed and numeric forms', () => {
      expect(parseVnd('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
      expect(parseVnd('-2450000')).toBe(-2450000);
      expect(parseVnd(2450000)).toBe(2450000);
      expect(parseVnd(2450000n)).toBe(2450000);
      expect(Object.is(parseVnd('-0'), 0)).toBe(true);
    });

    test.each(['9007199254740992', '-9007199254740992', '1.5', 'abc', '', ' 12', '1e6', '0x10'])(
      'refuses %p',
      (text) => {
        expect(() => parseVnd(text)).toThrow(RangeError);
      },
    );

    test('refuses numbers that are not safe integers and bigints beyond the safe range', () => {
      expect(() => parseVnd(1.5)).toThrow(RangeError);
      expect(() => parseVnd(Number.NaN)).toThrow(RangeError);
      expect(() => parseVnd(2 ** 53)).toThrow(RangeError);
      expect(() => parseVnd(2n ** 53n)).toThrow(RangeError);
    });
  });

  describe('asserting an amount', () => {
    test('accepts zero and positive safe integers and returns them', () => {
      expect(assertVnd(0, 'totalVnd')).toBe(0);
      expect(assertVnd(Number.MAX_SAFE_INTEGER, 'totalVnd')).toBe(Number.MAX_SAFE_INTEGER);
    });

    test.each([-1, 0.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY])('rejects %p', (value) => {
      expect(() => assertVnd(value, 'totalVnd')).toThrow(RangeError);
    });
  });

  describe('percentages and proration', () => {
    test('a 50% exemption on an odd fee rounds the half dong up', () => {
      expect(percentOf(2_450_001, 50)).toBe(1_225_001);
      expect(percentOf(2_450_000, 33.3)).toBe(815_850);
      expect(percentOf(1_000_000, 0)).toBe(0);
      expect(percentOf(1_000_000, 100)).toBe(1_000_000);
    });

    test('a month prorated by days present rounds once, at the end', () => {
      expect(prorate(1_000_000, 10, 30)).toBe(333_333);
      expect(prorate(1_000_000, 20, 30)).toBe(666_667);
      expect(prorate(1_000_000, 30, 30)).toBe(1_000_000);
    });

    test('refuses negative amounts, percentages outside 0..100 and impossible fractions', () => {
      expect(() => percentOf(-1, 10)).toThrow(RangeError);
      expect(() => percentOf(100, 100.5)).toThrow(RangeError);
      expect(() => percentOf(100, -1)).toThrow(RangeError);
      expect(() => prorate(100, 1, 0)).toThrow(RangeError);
      expect(() => prorate(100, 31, 30)).toThrow(RangeError);
      expect(() => prorate(100, -1, 30)).toThrow(RangeError);
    });

    test('for any amount and percentage, the exempted and payable parts add back to within one dong', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 10 ** 12 }), fc.integer({ min: 0, max: 10_000 }), (amountVnd, basisPoints) => {
          const percent = basisPoints / 100;
          const exempted = percentOf(amountVnd, percent);
          const payable = percentOf(amountVnd, 100 - percent);
          expect(exempted).toBeGreaterThanOrEqual(0);
          expect(exempted).toBeLessThanOrEqual(amountVnd);
          expect(Math.abs(exempted + payable - amountVnd)).toBeLessThanOrEqual(1);
        }),
      );
    });

    test('for any amount and fraction up to one, the prorated amount never exceeds the amount', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 10 ** 12 }),
          fc.integer({ min: 1, max: 366 }).chain((d) => fc.tuple(fc.integer({ min: 0, max: d }), fc.constant(d))),
          (amountVnd, [numerator, denominator]) => {
            const part = prorate(amountVnd, numerator, denominator);
            expect(Number.isSafeInteger(part)).toBe(true);
            expect(part).toBeGreaterThanOrEqual(0);
            expect(part).toBeLessThanOrEqual(amountVnd);
          },
        ),
      );
    });
  });

  describe('splitting by largest remainder', () => {
    test('100 dong over three equal weights gives the leftover dong to the first part', () => {
      expect(splitLargestRemainder(100, [1, 1, 1])).toEqual([34, 33, 33]);
      expect(splitEvenly(10, 3)).toEqual([4, 3, 3]);
    });

    test('the leftover goes to the largest remainder, and a tie goes to the lower index', () => {
      // Shares 1.2, 2.3, 1.5: floors 1, 2, 1 leave one dong for the largest remainder, 0.5 at index 2.
      expect(splitLargestRemainder(5, [1.2, 2.3, 1.5])).toEqual([1, 2, 2]);
      // Shares 0.4, 1.4, 3.2: the two 0.4 remainders tie, so index 0 gets the leftover dong.
      expect(splitLargestRemainder(5, [2, 7, 16])).toEqual([1, 1, 3]);
    });

    test('a zero weight gets nothing, and a single weight gets everything', () => {
      expect(splitLargestRemainder(999, [0, 1, 0])).toEqual([0, 999, 0]);
      expect(splitLargestRemainder(999, [5])).toEqual([999]);
      expect(splitEvenly(0, 4)).toEqual([0, 0, 0, 0]);
    });

    test('exact integer arithmetic keeps a split near the safe-integer limit summing to the total', () => {
      const total = Number.MAX_SAFE_INTEGER;
      const parts = splitLargestRemainder(total, [3, 7, 11, 13]);
      expect(parts.reduce((sum, part) => sum + part, 0)).toBe(total);
    });

    test('refuses no weights, all-zero weights, negative weights and a negative total', () => {
      expect(() => splitLargestRemainder(100, [])).toThrow(RangeError);
      expect(() => splitLargestRemainder(100, [0, 0])).toThrow(RangeError);
      expect(() => splitLargestRemainder(100, [1, -1])).toThrow(RangeError);
      expect(() => splitLargestRemainder(-100, [1])).toThrow(RangeError);
      expect(() => splitEvenly(100, 0)).toThrow(RangeError);
    });

    const weightsArbitrary = fc
      .array(fc.nat({ max: 1_000_000 }), { minLength: 1, maxLength: 50 })
      .filter((weights) => weights.some((weight) => weight > 0));

    test('for any total and weights, the parts are whole dong, sum to the total and stay within a dong of their share', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 10 ** 12 }), weightsArbitrary, (totalVnd, weights) => {
          const parts = splitLargestRemainder(totalVnd, weights);
          expect(parts).toHaveLength(weights.length);
          expect(parts.reduce((sum, part) => sum + part, 0)).toBe(totalVnd);
          const weightSum = BigInt(weights.reduce((sum, weight) => sum + weight, 0));
          parts.forEach((part, i) => {
            expect(Number.isSafeInteger(part) && part >= 0).toBe(true);
            // |part - total * w / W| < 1, compared exactly as |part * W - total * w| < W.
            const gap = BigInt(part) * weightSum - BigInt(totalVnd) * BigInt(weights[i] ?? 0);
            expect(gap < 0n ? -gap : gap).toBeLessThan(weightSum);
          });
        }),
      );
    });

    test('for any total and number of instalments, instalments differ by at most one dong and sum to the total', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 10 ** 12 }), fc.integer({ min: 1, max: 60 }), (totalVnd, count) => {
          const parts = splitEvenly(totalVnd, count);
          expect(parts).toHaveLength(count);
          expect(parts.reduce((sum, part) => sum + part, 0)).toBe(totalVnd);
          expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(1);
        }),
      );
    });
  });
});

describe('amounts as Vietnamese read them', () => {
  test('dots group thousands, the unit follows after a space', () => {
    expect(groupVnd(1_267_000)).toBe('1.267.000');
    expect(formatVnd(1_267_000)).toBe('1.267.000 đ');
    expect(formatVnd(0)).toBe('0 đ');
    expect(formatVnd(-77_000)).toBe('-77.000 đ');
  });
});
