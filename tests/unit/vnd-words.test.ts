import { numberToVietnameseWords, vndInWords } from '../../src/lib/vnd-words';

// Hand-checked against the convention documented in src/lib/vnd-words.ts ("linh", "mốt", "lăm", "tư", "nghìn").
describe('amounts in Vietnamese words', () => {
  test.each([
    [0, 'Không đồng'],
    [15, 'Mười lăm đồng'],
    [21, 'Hai mươi mốt đồng'],
    [105, 'Một trăm linh năm đồng'],
    [1_000_005, 'Một triệu không trăm linh năm đồng'],
    [2_450_000, 'Hai triệu bốn trăm năm mươi nghìn đồng'],
    [1_000_000_000, 'Một tỷ đồng'],
  ])('%d dong reads "%s"', (n, words) => {
    expect(vndInWords(n)).toBe(words);
  });

  test.each([
    [10, 'mười'],
    [11, 'mười một'],
    [14, 'mười bốn'],
    [20, 'hai mươi'],
    [24, 'hai mươi tư'],
    [25, 'hai mươi lăm'],
    [31, 'ba mươi mốt'],
    [100, 'một trăm'],
    [110, 'một trăm mười'],
    [111, 'một trăm mười một'],
    [1_000, 'một nghìn'],
    [1_001, 'một nghìn không trăm linh một'],
    [1_010, 'một nghìn không trăm mười'],
    [10_500, 'mười nghìn năm trăm'],
    [35_000, 'ba mươi lăm nghìn'],
    [884_520, 'tám trăm tám mươi tư nghìn năm trăm hai mươi'],
    [1_005_000, 'một triệu không trăm linh năm nghìn'],
    [1_000_050, 'một triệu không trăm năm mươi'],
    [2_000_000_001, 'hai tỷ không trăm linh một'],
    [1_000_000_000_000, 'một nghìn tỷ'],
    [1_002_000_000_000, 'một nghìn không trăm linh hai tỷ'],
    [12_345_678_905, 'mười hai tỷ ba trăm bốn mươi lăm triệu sáu trăm bảy mươi tám nghìn chín trăm linh năm'],
  ])('%d reads "%s"', (n, words) => {
    expect(numberToVietnameseWords(n)).toBe(words);
  });

  test('negative, fractional and unsafe numbers are refused', () => {
    expect(() => numberToVietnameseWords(-1)).toThrow(RangeError);
    expect(() => numberToVietnameseWords(1.5)).toThrow(RangeError);
    expect(() => numberToVietnameseWords(2 ** 53)).toThrow(RangeError);
  });
});
