import { parseCamt053 } from './camt053';
import { parseGenericCsv, parseVietcombankCsv } from './csv-statements';
import type { ParsedStatement, StatementFormat } from './statement-source';

export { StatementFormatError, dedupeKeys, type ParsedLine, type ParsedStatement, type StatementFormat, type StatementSource } from './statement-source';

/** Statement file parsers by format (the upload's `format`). */
export const STATEMENT_PARSERS: Record<StatementFormat, (text: string) => ParsedStatement> = {
  camt053: parseCamt053,
  csv: parseGenericCsv,
  vietcombank_csv: parseVietcombankCsv,
};
