// đ/Đ are letters in their own right, not d plus a combining mark, so NFD leaves them alone.
// U+00D0 (Icelandic eth) is mapped too: legacy keyboards and fonts often produce it for Đ.
const STROKED_D: Record<string, string> = { 'đ': 'd', 'Đ': 'D', 'Ð': 'D' };

/** Strips Vietnamese diacritics and collapses whitespace, keeping case ("Học phí" -> "Hoc phi"). */
export function toAscii(text: string): string {
  return text
    .replace(/[đĐÐ]/g, (letter) => STROKED_D[letter] ?? letter)
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}
