/**
 * A small RFC 4180 reader: quoted fields, doubled quotes, CRLF or LF, an optional UTF-8 BOM.
 * Returns rows of raw strings; callers validate them.
 */
export class CsvSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

export function parseCsv(text: string): string[][] {
  const input = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let inQuotes = false;
  let fieldStarted = false;
  let line = 1;

  const endField = () => {
    row.push(field);
    field = '';
    fieldStarted = false;
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };

  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (inQuotes) {
      if (ch === '"') {
        if (input[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          inQuotes = false;
        }
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"') {
      if (fieldStarted && field.length > 0) throw new CsvSyntaxError('quote inside an unquoted field', line);
      inQuotes = true;
      fieldStarted = true;
    } else if (ch === ',') {
      endField();
    } else if (ch === '\r' && input[i + 1] === '\n') {
      // CRLF: the \n ends the row.
    } else if (ch === '\n') {
      endRow();
      line++;
    } else {
      field += ch;
      fieldStarted = true;
    }
  }
  if (inQuotes) throw new CsvSyntaxError('unterminated quoted field', line);
  if (field.length > 0 || row.length > 0) endRow();
  // Blank lines carry no data.
  return rows.filter((r) => !(r.length === 1 && r[0]!.trim() === ''));
}

export type CsvCell = string | number | null;

/**
 * One RFC 4180 record, CRLF-terminated: a field is quoted when it holds a comma, a quote, CR or
 * LF, with its quotes doubled. Numbers are written as they are (integers stay plain, no group
 * separators, so a spreadsheet sums them); null is an empty field. A text field that a
 * spreadsheet would run as a formula (it starts with =, +, -, @, tab or CR) gets a leading
 * apostrophe, the usual guard against CSV injection; numbers are never altered.
 */
export function formatCsvRow(cells: readonly CsvCell[]): string {
  return `${cells.map(formatCsvField).join(',')}\r\n`;
}

function formatCsvField(cell: CsvCell): string {
  if (cell === null) return '';
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) throw new RangeError(`a CSV number must be finite, got ${cell}`);
    return String(cell);
  }
  const text = /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
