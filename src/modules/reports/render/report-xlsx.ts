import { Workbook } from 'exceljs';
import JSZip from 'jszip';
import type { Section } from './report-sections';

const VND_FORMAT = '#,##0';
const HEADER_FILL = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE7EEF7' } } as const;

export interface XlsxMeta {
  title: string;
  /** The report's generated_at: the workbook's created and modified dates, and every zip entry's date. */
  generatedAt: string;
  author: string;
}

/**
 * A workbook with a sheet per section: a bold header row, frozen, with column widths; amounts
 * as numbers formatted #,##0 (dong have no fraction); the total row as numbers, not formulas, so
 * any reader (and the tests) sees the figures without recalculating.
 *
 * The same report gives the same bytes: the workbook's dates come from the report, and exceljs's
 * zip (JSZip, which stamps each entry with the current time) is rewritten with every entry dated
 * at generated_at.
 */
export async function renderXlsx(sections: Section[], meta: XlsxMeta): Promise<Buffer> {
  const at = new Date(meta.generatedAt);
  const wb = new Workbook();
  wb.creator = meta.author;
  wb.lastModifiedBy = meta.author;
  wb.title = meta.title;
  wb.created = at;
  wb.modified = at;

  for (const section of sections) {
    const ws = wb.addWorksheet(sheetName(section.title), { views: [{ state: 'frozen', ySplit: 1 }] });
    ws.columns = section.columns.map((c) => ({ header: c.header, width: c.width, style: c.kind === 'text' ? {} : { numFmt: VND_FORMAT } }));
    const header = ws.getRow(1);
    header.font = { bold: true };
    header.alignment = { vertical: 'middle', wrapText: true };
    header.eachCell((cell) => {
      cell.fill = HEADER_FILL;
    });
    for (const row of section.rows) ws.addRow(row);
    if (section.total) ws.addRow(section.total).font = { bold: true };
  }

  const written = Buffer.from(await wb.xlsx.writeBuffer());
  return restampZip(written, at);
}

async function restampZip(zipBytes: Buffer, at: Date): Promise<Buffer> {
  const zip = await JSZip.loadAsync(zipBytes);
  zip.forEach((_path, entry) => {
    entry.date = at;
  });
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 6 }, platform: 'DOS' });
}

/** Excel's rules for a sheet name: at most 31 characters, none of []:*?/\. */
function sheetName(title: string): string {
  const name = title.replace(/[[\]:*?/\\]/g, ' ');
  if (name.length > 31) throw new Error(`sheet name too long for Excel: ${title}`);
  return name;
}
