import { CsvSyntaxError, parseCsv } from '../../lib/csv';
import { ValidationError } from '../../http/errors';

/**
 * The class roster layout: a header row with exactly these columns (any order), then one student
 * a row. Dates may be YYYY-MM-DD or the Vietnamese DD/MM/YYYY; gender may be male/female or Nam/Nữ.
 */
export const ROSTER_COLUMNS = ['personal_id', 'full_name', 'date_of_birth', 'gender'] as const;
export const MAX_ROSTER_ROWS = 2000;

export interface RosterRow {
  /** Line number in the file (the header is line 1). */
  line: number;
  personalId: string;
  fullName: string;
  dateOfBirth: string;
  gender: 'male' | 'female' | null;
  rawGender: string;
}

const GENDERS: Record<string, 'male' | 'female'> = { male: 'male', female: 'female', nam: 'male', 'nữ': 'female', nu: 'female' };

function normalizeDate(value: string): string {
  const vn = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  if (vn) return `${vn[3]}-${vn[2]!.padStart(2, '0')}-${vn[1]!.padStart(2, '0')}`;
  return value;
}

/** Reads the roster file; a syntax error or a wrong header rejects the whole file (nothing is written). */
export function readRoster(text: string): RosterRow[] {
  let rows: string[][];
  try {
    rows = parseCsv(text);
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw new ValidationError('CSV_MALFORMED', `The CSV file is malformed at line ${e.line}: ${e.message}.`, { param: 'body' });
    throw e;
  }
  const [header, ...data] = rows;
  const columns = (header ?? []).map((c) => c.trim().toLowerCase());
  const expected = [...ROSTER_COLUMNS].sort().join(',');
  if (columns.length !== ROSTER_COLUMNS.length || [...columns].sort().join(',') !== expected) {
    throw new ValidationError('CSV_HEADER_INVALID', `The header row must be: ${ROSTER_COLUMNS.join(',')}.`, {
      param: 'header',
      details: { expected: ROSTER_COLUMNS, received: columns },
    });
  }
  if (data.length === 0) throw new ValidationError('CSV_EMPTY', 'The CSV file has no student rows.', { param: 'body' });
  if (data.length > MAX_ROSTER_ROWS) throw new ValidationError('CSV_TOO_MANY_ROWS', `A roster may hold at most ${MAX_ROSTER_ROWS} rows.`, { param: 'body' });
  const index = (name: string) => columns.indexOf(name);
  return data.map((cells, i) => {
    const cell = (name: string) => (cells[index(name)] ?? '').trim();
    const rawGender = cell('gender');
    return {
      line: i + 2,
      personalId: cell('personal_id'),
      fullName: cell('full_name').normalize('NFC'),
      dateOfBirth: normalizeDate(cell('date_of_birth')),
      gender: GENDERS[rawGender.normalize('NFC').toLowerCase()] ?? null,
      rawGender,
    };
  });
}
