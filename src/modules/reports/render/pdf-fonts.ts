import { readFileSync } from 'node:fs';
import * as fontkit from 'fontkit';
import { withoutShaping } from '../../../lib/unshaped-font';

/**
 * DejaVu Sans (regular, bold, oblique) from the `dejavu-fonts-ttf` package, parsed once per
 * process, as the receipts' PDF does: pdfkit embeds and subsets them, so every Vietnamese letter
 * prints; laid out without shaping (src/lib/unshaped-font.ts).
 */
type Font = fontkit.Font;

export interface ReportFonts {
  regular: Font;
  bold: Font;
  italic: Font;
}

let fonts: ReportFonts | undefined;

export function loadReportFonts(): ReportFonts {
  const load = (file: string) => withoutShaping(fontkit.create(readFileSync(require.resolve(`dejavu-fonts-ttf/ttf/${file}`))) as Font);
  fonts ??= { regular: load('DejaVuSans.ttf'), bold: load('DejaVuSans-Bold.ttf'), italic: load('DejaVuSans-Oblique.ttf') };
  return fonts;
}

/** Registers the three faces under the names 'regular', 'bold' and 'italic'. */
export function registerReportFonts(doc: PDFKit.PDFDocument): void {
  const f = loadReportFonts();
  doc.registerFont('regular', f.regular as unknown as ArrayBuffer);
  doc.registerFont('bold', f.bold as unknown as ArrayBuffer);
  doc.registerFont('italic', f.italic as unknown as ArrayBuffer);
}
