import { formatCsvRow } from '../../../lib/csv';
import type { Section } from './report-sections';

const BOM = '\ufeff';

/**
 * One CSV for the whole report: UTF-8 with a BOM (so spreadsheet programs read the Vietnamese
 * right), each section as a title row, a header row, its rows and its total row, sections apart by
 * a blank line. Amounts are plain integers of dong.
 */
export function renderCsv(sections: Section[]): Buffer {
  const parts = sections.map((s) => [formatCsvRow([s.title]), formatCsvRow(s.columns.map((c) => c.header)), ...s.rows.map(formatCsvRow), ...(s.total ? [formatCsvRow(s.total)] : [])].join(''));
  return Buffer.from(BOM + parts.join('\r\n'), 'utf8');
}
