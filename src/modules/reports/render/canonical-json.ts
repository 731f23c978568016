/**
 * Canonical JSON: object keys sorted by UTF-16 code units at every depth (as in RFC 8785), arrays
 * in their order, no whitespace, UTF-8. Two values that differ only in key order give the same
 * bytes, which is what a month-end snapshot's hash is taken over. Values JSON cannot carry
 * faithfully (bigint, NaN, Infinity, functions, symbols) are refused rather than altered;
 * `undefined` object members are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): Buffer {
  return Buffer.from(serialize(value, '$'), 'utf8');
}

function serialize(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${path} is ${value}, which JSON cannot carry`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => (v === undefined ? 'null' : serialize(v, `${path}[${i}]`))).join(',')}]`;
      const json = (value as { toJSON?: () => unknown }).toJSON;
      if (typeof json === 'function') return serialize(json.call(value), path);
      const members = Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${serialize((value as Record<string, unknown>)[k], `${path}.${k}`)}`);
      return `{${members.join(',')}}`;
    }
    default:
      throw new TypeError(`canonicalJson: ${path} is a ${typeof value}, which JSON cannot carry`);
  }
}
