import { randomBytes } from 'node:crypto';

// Payment codes: the short opaque code a parent types, or a bank app copies, into a transfer
// description. Never derived from a personal ID, which must not appear on bank statements.
// Shape: 3-symbol school prefix + 6 random symbols + 1 check symbol = 10 symbols.

/** 32 symbols without 0/O and 1/I, which people misread when copying from paper. */
export const PAYMENT_CODE_ALPHABET = '23456789ABCDEFGHJKLMNPQRSTUVWXYZ';

const N = PAYMENT_CODE_ALPHABET.length;
const PREFIX_LENGTH = 3;
const RANDOM_LENGTH = 6;
const CODE_LENGTH = PREFIX_LENGTH + RANDOM_LENGTH + 1;
const SYMBOL_VALUE = new Map([...PAYMENT_CODE_ALPHABET].map((symbol, value) => [symbol, value]));

/** Returns a new payment code: the school's 3-symbol prefix, 6 random symbols and a Luhn mod 32 check symbol. */
export function newPaymentCode(prefix: string, random: (n: number) => Buffer = randomBytes): string {
  if (prefix.length !== PREFIX_LENGTH || ![...prefix].every((symbol) => SYMBOL_VALUE.has(symbol))) {
    throw new RangeError(`payment code prefix must be ${PREFIX_LENGTH} symbols of ${PAYMENT_CODE_ALPHABET}`);
  }
  const body = prefix + randomSymbols(RANDOM_LENGTH, random);
  return body + PAYMENT_CODE_ALPHABET.charAt(checkValue(body));
}

/**
 * Combined-payment ("bundle") codes have the same shape as invoice codes (school prefix, 6 random
 * symbols, check symbol) but a different check: their Luhn mod 32 sum is 16, not 0. The two
 * namespaces are therefore disjoint by construction: no string is both a valid invoice code and a
 * valid bundle code, whatever the database holds.
 */
const BUNDLE_RESIDUE = 16;

/** Returns a new bundle code: like `newPaymentCode`, but in the bundle namespace (check sum 16 mod 32). */
export function newBundleCode(prefix: string, random: (n: number) => Buffer = randomBytes): string {
  if (prefix.length !== PREFIX_LENGTH || ![...prefix].every((symbol) => SYMBOL_VALUE.has(symbol))) {
    throw new RangeError(`payment code prefix must be ${PREFIX_LENGTH} symbols of ${PAYMENT_CODE_ALPHABET}`);
  }
  const body = prefix + randomSymbols(RANDOM_LENGTH, random);
  return body + PAYMENT_CODE_ALPHABET.charAt((checkValue(body) + BUNDLE_RESIDUE) % N);
}

/** Tells whether a code is 10 alphabet symbols whose check puts it in the bundle namespace. */
export function isValidBundleCode(code: string): boolean {
  return hasResidue(code, BUNDLE_RESIDUE);
}

/** Every valid bundle code in free text, uppercased, de-duplicated, in order of first appearance. */
export function findBundleCodes(text: string): string[] {
  return findCodes(text, BUNDLE_RESIDUE);
}

/** Invoice codes, then bundle codes, found in free text in one pass (statement lines: each kind in order of first appearance). */
export function findInvoiceAndBundleCodes(text: string): string[] {
  const upper = text.toUpperCase();
  const invoices: string[] = [];
  const bundles: string[] = [];
  for (let start = 0; start + CODE_LENGTH <= upper.length; start += 1) {
    const window = upper.slice(start, start + CODE_LENGTH);
    const values = symbolValues(window);
    if (values === null) continue;
    const residue = luhnSum(values, 1) % N;
    const into = residue === 0 ? invoices : residue === BUNDLE_RESIDUE ? bundles : null;
    if (into && !into.includes(window)) into.push(window);
  }
  return [...invoices, ...bundles];
}

/** Returns 3 random alphabet symbols for a new school's payment-code prefix (uniqueness is the database's job). */
export function newSchoolPrefix(random: (n: number) => Buffer = randomBytes): string {
  return randomSymbols(PREFIX_LENGTH, random);
}

/** Tells whether a code is 10 alphabet symbols with a correct check symbol; callers should uppercase it before storing or comparing. */
export function isValidPaymentCode(code: string): boolean {
  return hasResidue(code, 0);
}

function hasResidue(code: string, residue: number): boolean {
  // Lowercase is accepted because bank apps lowercase descriptions; the stored code is uppercase.
  const upper = code.toUpperCase();
  if (upper.length !== CODE_LENGTH) return false;
  const values = symbolValues(upper);
  return values !== null && luhnSum(values, 1) % N === residue;
}

/** Finds every valid code in free text, uppercased, de-duplicated, in order of first appearance. */
export function findPaymentCodes(text: string): string[] {
  return findCodes(text, 0);
}

function findCodes(text: string, residue: number): string[] {
  // About 1 in 32 windows of 10 alphabet symbols passes the check by chance (e.g. inside a long
  // glued word), so a found code is a candidate to look up, not proof of a payment.
  const upper = text.toUpperCase();
  const found: string[] = [];
  // Every window, not just whole words: bank apps glue the code to their own letters and digits.
  for (let start = 0; start + CODE_LENGTH <= upper.length; start += 1) {
    const window = upper.slice(start, start + CODE_LENGTH);
    if (hasResidue(window, residue) && !found.includes(window)) found.push(window);
  }
  return found;
}

// 256 is a multiple of 32, so taking a byte modulo 32 gives every symbol the same chance.
function randomSymbols(count: number, random: (n: number) => Buffer): string {
  const bytes = random(count);
  if (bytes.length < count) throw new RangeError(`random source returned ${bytes.length} bytes, need ${count}`);
  let symbols = '';
  for (let i = 0; i < count; i += 1) symbols += PAYMENT_CODE_ALPHABET.charAt((bytes[i] ?? 0) % N);
  return symbols;
}

function symbolValues(text: string): number[] | null {
  const values: number[] = [];
  for (const symbol of text) {
    const value = SYMBOL_VALUE.get(symbol);
    if (value === undefined) return null;
    values.push(value);
  }
  return values;
}

// Luhn mod N: from the right, every second value is doubled and its two base-N digits added.
// Doubling is a permutation of 0..N-1, so any single wrong symbol changes the sum; swapping two
// neighbours changes it unless they are the values 0 and N-1 ("2" and "Z"), Luhn's one blind spot.
function luhnSum(values: number[], rightmostFactor: 1 | 2): number {
  let factor = rightmostFactor;
  let sum = 0;
  for (let i = values.length - 1; i >= 0; i -= 1) {
    const addend = factor * (values[i] ?? 0);
    sum += Math.floor(addend / N) + (addend % N);
    factor = factor === 2 ? 1 : 2;
  }
  return sum;
}

function checkValue(body: string): number {
  const values = symbolValues(body);
  if (values === null) throw new RangeError('payment code body must use only alphabet symbols');
  return (N - (luhnSum(values, 2) % N)) % N;
}
