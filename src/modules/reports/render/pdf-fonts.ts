import { readFileSync } from 'node:fs';
import * as fontkit from 'fontkit';

/**
 * DejaVu Sans (regular, bold, oblique) from the `dejavu-fonts-ttf` package, parsed once per
 * process, as the receipts' PDF does: pdfkit embeds and subsets them, so every Vietnamese letter
 * prints. Layout maps code points straight to glyphs, without OpenType shaping: Vietnamese in
 * NFC needs none (each letter with its diacritics is one precomposed glyph), and shaping costs
 * about a millisecond a word, which a city report's thousands of cells cannot afford. Kerning is
 * the only loss. The mapping is pure, so the same text always lays out (and embeds) the same.
 */
type Font = fontkit.Font;

/**
 * What pdfkit reads of a glyph: its id, its advance, and the code points its ToUnicode entry
 * maps it back to. Not fontkit's glyph object itself: fontkit caches glyphs per font, and one
 * first built as a component of another (subsetting "Ư" builds "U") has no code points, so a later
 * document would map "U" to nothing (lost in copied or extracted text) and its bytes would depend
 * on what the process rendered before.
 */
interface LaidGlyph {
  id: number;
  advanceWidth: number;
  codePoints: number[];
}

function withoutShaping(font: Font): Font {
  const plain = Object.create(font) as Font;
  plain.layout = ((text: string) => {
    const glyphs: LaidGlyph[] = [];
    for (const ch of text.normalize('NFC')) {
      const codePoint = ch.codePointAt(0)!;
      const glyph = font.glyphForCodePoint(codePoint);
      glyphs.push({ id: glyph.id, advanceWidth: glyph.advanceWidth, codePoints: [codePoint] });
    }
    // Fresh positions per call: pdfkit scales them in place.
    const positions = glyphs.map((g) => ({ xAdvance: g.advanceWidth, yAdvance: 0, xOffset: 0, yOffset: 0 }));
    return {
      glyphs,
      positions,
      get advanceWidth() {
        return positions.reduce((sum, p) => sum + p.xAdvance, 0);
      },
    };
  }) as unknown as Font['layout'];
  return plain;
}

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
