import { createHash } from 'node:crypto';
import { toAscii } from '../../lib/vietnamese-text';

/**
 * The port every bank statement comes through, whatever its source: a file an accountant uploads
 * (ISO 20022 camt.053, our generic CSV, a Vietcombank export) or the bank's statement API pulled by
 * the nightly job. Each source turns its input into one ParsedStatement; parsers are pure.
 */
export type StatementFormat = 'camt053' | 'csv' | 'vietcombank_csv';
export type StatementSource = StatementFormat | 'bank_api';

export interface ParsedLine {
  /** Vietnam local booking date. */
  bookedOn: string;
  bookedAt: string | null;
  direction: 'in' | 'out';
  amountVnd: number;
  /** The bank's own id of the transaction (camt AcctSvcrRef, a CSV's reference column); null when it gives none. */
  bankTransactionId: string | null;
  description: string;
  virtualAccount: string | null;
  counterpartyName: string | null;
  counterpartyAccount: string | null;
  balanceAfterVnd: number | null;
  /** The line's fields exactly as read. */
  raw: Record<string, unknown>;
}

export interface ParsedStatement {
  /** The account the statement says it is for; null when the format does not say (CSV). */
  accountNumber: string | null;
  openingBalanceVnd: number | null;
  closingBalanceVnd: number | null;
  lines: ParsedLine[];
}

/** A statement that cannot be read: `param` names the line or field at fault. */
export class StatementFormatError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

/** Whole dong from a decimal string; VND has no minor unit, so `150000.00` is fine and `0.5` is not. */
export function parseStatementAmount(text: string, param: string): number {
  const t = text.trim();
  if (!/^\d{1,15}(\.0{1,2})?$/.test(t)) throw new StatementFormatError(`amount "${text.slice(0, 30)}" is not a whole number of dong`, param);
  const n = Number(t.split('.')[0]);
  if (!Number.isSafeInteger(n)) throw new StatementFormatError('amount out of range', param);
  return n;
}

/**
 * The key that makes importing a statement twice add nothing: the bank's transaction id when it
 * gives one; otherwise a fingerprint of the line numbered within its day, so two identical lines
 * on one day (a parent paying the same amount twice) stay two lines, and a re-import of the same
 * day yields the same keys.
 */
export function dedupeKeys(lines: ParsedLine[]): string[] {
  const seen = new Map<string, number>();
  return lines.map((l) => {
    if (l.bankTransactionId) return `id:${l.bankTransactionId}`;
    const print = createHash('sha256')
      .update([l.bookedOn, l.direction, l.amountVnd, toAscii(l.description).toUpperCase().replace(/\s+/g, ' ').trim(), l.counterpartyAccount ?? ''].join('|'))
      .digest('hex')
      .slice(0, 32);
    const n = (seen.get(print) ?? 0) + 1;
    seen.set(print, n);
    return `fp:${print}:${n}`;
  });
}
