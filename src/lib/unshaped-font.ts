import type * as fontkit from 'fontkit';

/**
 * A fontkit font whose layout maps code points straight to glyphs, without OpenType shaping, for
 * pdfkit. Vietnamese in NFC needs no shaping (each letter with its diacritics is one precomposed
 * glyph in DejaVu Sans), and fontkit's shaper costs about a millisecond a word, most of a receipt's
 * rendering and far too much for a city report's thousands of cells. Kerning is the only loss. The
 * mapping is pure, so the same text always lays out (and embeds) the same. Used by the receipts'
 * and the reports' PDFs.
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

export function withoutShaping(font: Font): Font {
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
