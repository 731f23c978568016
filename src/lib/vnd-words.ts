/**
 * Amounts in Vietnamese words, as printed on receipts ("Hai triệu bốn trăm năm mươi nghìn đồng").
 *
 * One convention, the one accounting documents commonly use:
 * - scales: nghìn (not "ngàn"), triệu, tỷ; above a billion the count of billions is read again
 *   (1,000,000,000,000 = "một nghìn tỷ");
 * - a zero tens digit before a unit reads "linh" (not "lẻ"): 105 = "một trăm linh năm";
 * - a group after a higher one always reads its hundreds, even zero: 1,000,005 =
 *   "một triệu không trăm linh năm"; a group that is all zeros is skipped;
 * - 10..19 read "mười ..."; unit 5 after any tens reads "lăm" (15 = "mười lăm", 25 = "hai mươi lăm");
 *   unit 1 after twenty or more reads "mốt" (21 = "hai mươi mốt"); unit 4 after twenty or more
 *   reads "tư" (24 = "hai mươi tư"); "mươi" for tens from twenty.
 */
const DIGITS = ['không', 'một', 'hai', 'ba', 'bốn', 'năm', 'sáu', 'bảy', 'tám', 'chín'] as const;

function digit(n: number): string {
  return DIGITS[n]!;
}

/** Reads 0..999; `full` reads the hundreds even when zero (a group after a higher one). */
function readTriple(n: number, full: boolean): string {
  const hundreds = Math.floor(n / 100);
  const tens = Math.floor((n % 100) / 10);
  const units = n % 10;
  const words: string[] = [];
  if (hundreds > 0 || full) words.push(digit(hundreds), 'trăm');
  if (tens === 0) {
    if (units > 0 && words.length > 0) words.push('linh');
    if (units > 0) words.push(digit(units));
  } else if (tens === 1) {
    words.push('mười');
    if (units === 5) words.push('lăm');
    else if (units > 0) words.push(digit(units));
  } else {
    words.push(digit(tens), 'mươi');
    if (units === 1) words.push('mốt');
    else if (units === 4) words.push('tư');
    else if (units === 5) words.push('lăm');
    else if (units > 0) words.push(digit(units));
  }
  return words.join(' ');
}

/** Reads 1..999,999,999; `full` when a higher group (billions) was read before it. */
function readBelowBillion(n: number, full: boolean): string {
  const groups = [Math.floor(n / 1_000_000), Math.floor((n % 1_000_000) / 1000), n % 1000];
  const scales = ['triệu', 'nghìn', ''];
  const words: string[] = [];
  groups.forEach((g, i) => {
    if (g === 0) return;
    words.push(readTriple(g, full || words.length > 0));
    if (scales[i]) words.push(scales[i]!);
  });
  return words.join(' ');
}

function readPositive(n: number, full: boolean): string {
  if (n < 1_000_000_000) return readBelowBillion(n, full);
  const billions = Math.floor(n / 1_000_000_000);
  const rest = n % 1_000_000_000;
  const head = `${readPositive(billions, full)} tỷ`;
  return rest === 0 ? head : `${head} ${readBelowBillion(rest, true)}`;
}

/** A non-negative safe integer in words, lower case: 21 -> "hai mươi mốt". */
export function numberToVietnameseWords(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a non-negative safe integer, got ${n}`);
  return n === 0 ? 'không' : readPositive(n, false);
}

/** An amount of dong in words, capitalized, as on a receipt: "Hai triệu bốn trăm năm mươi nghìn đồng". */
export function vndInWords(amountVnd: number): string {
  const words = `${numberToVietnameseWords(amountVnd)} đồng`;
  return words.charAt(0).toUpperCase() + words.slice(1);
}
