import { canonicalJson, sha256Hex } from '../../src/lib/canonical-json';

describe('canonicalJson', () => {
  test('sorts keys at every depth, keeps array order, drops undefined, and so gives the same bytes for the same value', () => {
    const a = { b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'Học phí' }, u: undefined };
    const b = { a: { c: 'Học phí', d: [3, { y: 2, z: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":"Học phí","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  test('sha256Hex hashes the UTF-8 bytes (the published vector for "abc")', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
