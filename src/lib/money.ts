import Decimal from 'decimal.js';

/**
 * The one rounding rule for money: half-up to whole dong, because VND has no minor unit
 * (decimal.js ROUND_HALF_UP rounds a tie away from zero: 2.5 -> 3, -2.5 -> -3).
 */
export const ROUNDING = Decimal.ROUND_HALF_UP;

// A private Decimal with room for an exact product of two 17-digit numbers, so a quotient is
// rounded once, by roundVnd, and never first to the library's default of 20 significant digits
// (which could turn x.4999... into x.5000 and round the wrong way).
const VndDecimal = Decimal.clone({ precision: 64, rounding: ROUNDING });

const INTEGER_TEXT = /^-?\d+$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Rounds a possibly fractional amount to whole dong with ROUNDING; the only place a fraction becomes dong. */
export function roundVnd(value: Decimal.Value): number {
  const rounded = new VndDecimal(value).toDecimalPlaces(0, ROUNDING);
  if (!rounded.isFinite() || rounded.abs().greaterThan(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`amount ${String(value)} does not round to a safe integer of dong`);
  }
  // `+ 0` turns the -0 that rounding -0.4 gives into 0, so it never shows up as "-0".
  return rounded.toNumber() + 0;
}

/** Parses pg's string form of a bigint column (or a number or bigint) into a safe integer of dong. */
export function parseVnd(value: string | number | bigint): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`amount ${value} is not a safe integer of dong`);
    return value + 0;
  }
  if (typeof value === 'string' && !INTEGER_TEXT.test(value)) {
    throw new RangeError(`amount "${value}" is not an integer of dong`);
  }
  // Compare as bigint: Number('9007199254740993') would silently become ...992 and pass a range check.
  const exact = BigInt(value);
  if (exact > MAX_SAFE || exact < -MAX_SAFE) {
    throw new RangeError(`amount ${exact} is beyond Number.MAX_SAFE_INTEGER`);
  }
  return Number(exact) + 0;
}

/** Returns the value when it is a non-negative safe integer of dong, else throws a RangeError naming it. */
export function assertVnd(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer of dong, got ${value}`);
  }
  return value;
}

/** Returns percent (0..100, may be fractional) of an amount, rounded with ROUNDING. */
export function percentOf(amountVnd: number, percent: number): number {
  assertVnd(amountVnd, 'amountVnd');
  if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new RangeError(`percent must be between 0 and 100, got ${percent}`);
  }
  return roundVnd(new VndDecimal(amountVnd).times(percent).dividedBy(100));
}

/** Returns amount * numerator / denominator (0 <= numerator <= denominator), rounded with ROUNDING. */
export function prorate(amountVnd: number, numerator: number, denominator: number): number {
  assertVnd(amountVnd, 'amountVnd');
  if (!Number.isFinite(denominator) || denominator <= 0) {
    throw new RangeError(`denominator must be positive, got ${denominator}`);
  }
  if (!Number.isFinite(numerator) || numerator < 0 || numerator > denominator) {
    throw new RangeError(`numerator must be between 0 and ${denominator}, got ${numerator}`);
  }
  return roundVnd(new VndDecimal(amountVnd).times(numerator).dividedBy(denominator));
}

/** Splits a total into parts proportional to the weights, largest remainder first, summing exactly to the total. */
export function splitLargestRemainder(totalVnd: number, weights: number[]): number[] {
  assertVnd(totalVnd, 'totalVnd');
  if (weights.length === 0) throw new RangeError('weights must not be empty');
  for (const weight of weights) {
    if (!Number.isFinite(weight) || weight < 0) {
      throw new RangeError(`weights must be non-negative finite numbers, got ${weight}`);
    }
  }
  if (!weights.some((weight) => weight > 0)) throw new RangeError('at least one weight must be positive');

  // Everything below is exact integer arithmetic: fractional weights are scaled to integers by a
  // common power of ten, and each share total * w / W is kept as floor plus a remainder over W.
  // Rounded floats or decimals could misplace a dong and make the parts miss the total.
  const decimals = Math.max(...weights.map((weight) => new VndDecimal(weight).decimalPlaces()));
  const scale = new VndDecimal(10).toPower(decimals);
  const scaled = weights.map((weight) => BigInt(new VndDecimal(weight).times(scale).toFixed(0)));
  const weightSum = scaled.reduce((sum, weight) => sum + weight, 0n);
  const total = BigInt(totalVnd);

  const floors = scaled.map((weight) => (total * weight) / weightSum);
  const remainders = scaled.map((weight) => (total * weight) % weightSum);
  let leftover = total - floors.reduce((sum, part) => sum + part, 0n);

  // Remainders share the denominator W, so comparing them compares the lost fractions exactly;
  // the index breaks ties so the same input always gives the same split.
  const order = remainders
    .map((remainder, index) => ({ remainder, index }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  const parts = floors.map((part) => Number(part));
  for (const { index } of order) {
    if (leftover === 0n) break;
    parts[index] = (parts[index] ?? 0) + 1;
    leftover -= 1n;
  }
  return parts;
}

/** Splits a total into equal instalments that differ by at most one dong, the larger ones first. */
export function splitEvenly(totalVnd: number, parts: number): number[] {
  if (!Number.isSafeInteger(parts) || parts < 1) {
    throw new RangeError(`parts must be a positive integer, got ${parts}`);
  }
  return splitLargestRemainder(totalVnd, new Array<number>(parts).fill(1));
}

const groupedVnd = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 0 });

/** 1234567 -> "1.234.567": dong grouped the Vietnamese way (dots), for tables that head the unit. */
export const groupVnd = (amountVnd: number): string => groupedVnd.format(amountVnd);

/** 1234567 -> "1.234.567 đ": an amount as parents and staff read it on pages, receipts and reports. */
export const formatVnd = (amountVnd: number): string => `${groupVnd(amountVnd)} đ`;
