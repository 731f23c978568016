import { isCalendarDate } from '../../lib/clock';
import { CsvSyntaxError, parseCsv } from '../../lib/csv';
import { toAscii } from '../../lib/vietnamese-text';
import { type ParsedLine, type ParsedStatement, parseStatementAmount, StatementFormatError } from './statement-source';

/**
 * Statement files in CSV (UTF-8, comma-separated, RFC 4180 quoting, a header row). Two layouts:
 *
 * Generic (`csv`), ours, documented in the README: columns by header name, in any order;
 *   booked_on (YYYY-MM-DD, required), booked_at (ISO 8601), direction (`in` | `out`, required),
 *   amount_vnd (whole dong, required), bank_transaction_id, description (required, may be empty),
 *   virtual_account, counterparty_name, counterparty_account, balance_after_vnd.
 *
 * Vietcombank (`vietcombank_csv`): the columns of VCB Digibiz's account statement export saved as
 * CSV: `STT`, `Ngày giao dịch` (dd/MM/yyyy, optionally HH:mm:ss), `Số tham chiếu` (the bank's
 * reference), `Số tiền ghi nợ` (debit), `Số tiền ghi có` (credit), `Số dư` (balance after),
 * `Mô tả` (description). Amounts may carry `.` or `,` thousand separators. Headers are matched
 * without diacritics or case, so `So tien ghi co` works too. Exactly one of debit and credit is set.
 */
const key = (h: string) => toAscii(h).toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '');

function readRows(text: string): { header: string[]; rows: { n: number; cells: string[] }[] } {
  let table: string[][];
  try {
    table = parseCsv(text);
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw new StatementFormatError(e.message, `line ${e.line}`);
    throw e;
  }
  const nonEmpty = table.map((cells, i) => ({ n: i + 1, cells })).filter((r) => r.cells.some((c) => c.trim() !== ''));
  if (nonEmpty.length === 0) throw new StatementFormatError('the file is empty', 'line 1');
  const [head, ...rows] = nonEmpty;
  return { header: head!.cells.map(key), rows };
}

function columnsOf(header: string[], required: string[], lineParam: string): Map<string, number> {
  const at = new Map(header.map((h, i) => [h, i]));
  for (const r of required) if (!at.has(r)) throw new StatementFormatError(`missing column ${r}`, lineParam);
  return at;
}

const cell = (cells: string[], at: Map<string, number>, name: string): string | null => {
  const i = at.get(name);
  const v = i === undefined ? undefined : cells[i]?.trim();
  return v ? v : null;
};

export function parseGenericCsv(text: string): ParsedStatement {
  const { header, rows } = readRows(text);
  const at = columnsOf(header, ['booked_on', 'direction', 'amount_vnd', 'description'], 'line 1');
  const lines = rows.map(({ n, cells }): ParsedLine => {
    if (cells.length !== header.length) throw new StatementFormatError(`expected ${header.length} fields, found ${cells.length} (truncated?)`, `line ${n}`);
    const bookedOn = cell(cells, at, 'booked_on') ?? '';
    if (!isCalendarDate(bookedOn)) throw new StatementFormatError('booked_on must be YYYY-MM-DD', `line ${n}: booked_on`);
    const bookedAtText = cell(cells, at, 'booked_at');
    const bookedAt = bookedAtText ? new Date(bookedAtText) : null;
    if (bookedAt && Number.isNaN(bookedAt.getTime())) throw new StatementFormatError('booked_at must be ISO 8601', `line ${n}: booked_at`);
    const direction = cell(cells, at, 'direction');
    if (direction !== 'in' && direction !== 'out') throw new StatementFormatError('direction must be in or out', `line ${n}: direction`);
    const balance = cell(cells, at, 'balance_after_vnd');
    return {
      bookedOn,
      bookedAt: bookedAt ? bookedAt.toISOString() : null,
      direction,
      amountVnd: positive(parseStatementAmount(cell(cells, at, 'amount_vnd') ?? '', `line ${n}: amount_vnd`), `line ${n}: amount_vnd`),
      bankTransactionId: cell(cells, at, 'bank_transaction_id'),
      description: cell(cells, at, 'description') ?? '',
      virtualAccount: cell(cells, at, 'virtual_account')?.toUpperCase() ?? null,
      counterpartyName: cell(cells, at, 'counterparty_name'),
      counterpartyAccount: cell(cells, at, 'counterparty_account'),
      balanceAfterVnd: balance === null ? null : parseStatementAmount(balance, `line ${n}: balance_after_vnd`),
      raw: Object.fromEntries(header.map((h, i) => [h, cells[i]])),
    };
  });
  return { accountNumber: null, openingBalanceVnd: null, closingBalanceVnd: null, lines };
}

function positive(n: number, param: string): number {
  if (n <= 0) throw new StatementFormatError('amount must be more than zero', param);
  return n;
}

/** `1.500.000`, `1,500,000` or `1500000` -> 1500000 (VND amounts have no decimals in these exports). */
function vcbAmount(text: string | null, param: string): number | null {
  if (text === null || text === '' || text === '0') return null;
  return parseStatementAmount(text.replace(/[.,\s](?=\d{3}(\D|$))/g, ''), param);
}

export function parseVietcombankCsv(text: string): ParsedStatement {
  const { header, rows } = readRows(text);
  const at = columnsOf(header, ['ngay_giao_dich', 'so_tham_chieu', 'so_tien_ghi_no', 'so_tien_ghi_co', 'mo_ta'], 'line 1');
  const lines = rows.map(({ n, cells }): ParsedLine => {
    if (cells.length !== header.length) throw new StatementFormatError(`expected ${header.length} fields, found ${cells.length} (truncated?)`, `line ${n}`);
    const when = cell(cells, at, 'ngay_giao_dich') ?? '';
    const m = /^(\d{2})\/(\d{2})\/(\d{4})(?:\s+(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(when);
    const bookedOn = m ? `${m[3]}-${m[2]}-${m[1]}` : '';
    if (!m || !isCalendarDate(bookedOn)) throw new StatementFormatError('Ngày giao dịch must be dd/MM/yyyy', `line ${n}: Ngày giao dịch`);
    const bookedAt = m[4] ? new Date(`${bookedOn}T${m[4]}:${m[5]}:${m[6] ?? '00'}+07:00`).toISOString() : null;
    const debit = vcbAmount(cell(cells, at, 'so_tien_ghi_no'), `line ${n}: Số tiền ghi nợ`);
    const credit = vcbAmount(cell(cells, at, 'so_tien_ghi_co'), `line ${n}: Số tiền ghi có`);
    if ((debit === null) === (credit === null)) throw new StatementFormatError('exactly one of Số tiền ghi nợ and Số tiền ghi có must be set', `line ${n}`);
    return {
      bookedOn,
      bookedAt,
      direction: credit !== null ? 'in' : 'out',
      amountVnd: (credit ?? debit)!,
      bankTransactionId: cell(cells, at, 'so_tham_chieu'),
      description: cell(cells, at, 'mo_ta') ?? '',
      virtualAccount: null,
      counterpartyName: null,
      counterpartyAccount: null,
      balanceAfterVnd: vcbAmount(cell(cells, at, 'so_du'), `line ${n}: Số dư`),
      raw: Object.fromEntries(header.map((h, i) => [h, cells[i]])),
    };
  });
  return { accountNumber: null, openingBalanceVnd: null, closingBalanceVnd: null, lines };
}
