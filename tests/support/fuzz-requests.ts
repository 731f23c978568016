import fc from 'fast-check';
import type { RouteDef } from '../../src/http/routes';
import { toOpenApiPath } from '../../src/http/routes';
import { openapi } from './contract';

/**
 * Request generation for the fuzzer, driven by the route table and openapi.yaml: every mounted
 * route gets requests built from its documented parameters and request body, then broken in the
 * ways clients and attackers break them. Nothing here names a route, so routes added by later
 * issues are fuzzed as soon as they are in the table and the document.
 */
type Schema = Record<string, unknown>;
const doc = openapi as unknown as Record<string, unknown>;

/** Follows `$ref: '#/components/...'` within openapi.yaml. */
export function resolve<T = Schema>(node: unknown): T {
  let current = node as Schema;
  for (let hops = 0; current && typeof current.$ref === 'string' && hops < 20; hops++) {
    const pointer = (current.$ref as string).replace(/^#\//, '').split('/');
    let target: unknown = doc;
    for (const segment of pointer) target = (target as Record<string, unknown>)[segment.replace(/~1/g, '/').replace(/~0/g, '~')];
    current = target as Schema;
  }
  return current as T;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

export interface Operation {
  method: RouteDef['method'];
  /** The Express path from the route table. */
  path: string;
  openapiPath: string;
  auth: RouteDef['auth'];
  bodyKind: NonNullable<RouteDef['body']>;
  parameters: Parameter[];
  /** content type -> schema */
  requestBodies: Record<string, Schema>;
  /** The operation's whole documentation, to check that an error code is documented for it. */
  documentationText: string;
}

export function operationsOf(routes: RouteDef[]): Operation[] {
  return routes.map((route) => {
    const openapiPath = toOpenApiPath(route.path);
    const item = (openapi.paths[openapiPath] ?? {}) as Record<string, unknown>;
    const op = (item[route.method] ?? {}) as { parameters?: unknown[]; requestBody?: unknown };
    const parameters = [...((item.parameters as unknown[]) ?? []), ...(op.parameters ?? [])].map((p) => resolve<Parameter>(p));
    const requestBody = resolve<{ content?: Record<string, { schema?: unknown }> }>(op.requestBody ?? {});
    const requestBodies: Record<string, Schema> = {};
    for (const [type, media] of Object.entries(requestBody.content ?? {})) requestBodies[type] = resolve(media.schema ?? {});
    const responses = Object.values((op as { responses?: Record<string, unknown> }).responses ?? {}).map((r) => resolve(r));
    return {
      method: route.method,
      path: route.path,
      openapiPath,
      auth: route.auth,
      bodyKind: route.body ?? (route.method === 'get' || route.method === 'delete' ? 'none' : 'json'),
      parameters,
      requestBodies,
      documentationText: JSON.stringify([op, responses]),
    };
  });
}

/** Values that break parsers, validators, SQL and encoders. */
const nastyStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  "' OR 1=1 --",
  '"; DROP TABLE payments; --',
  '../../etc/passwd',
  '%00',
  '%',
  '\uD800',
  '\uFEFFabc',
  'Nguyễn Thị Thu Hà',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🏫💸',
  '\u202Eevil',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
  '0x10',
  '__proto__',
  'constructor',
  '<script>alert(1)</script>',
  '2026-02-30',
  '9999-12-31T23:59:59.999Z',
  '000000000000',
  '079088000201',
  'sch_00000000000000000000000000000000',
  'A'.repeat(10_000),
);
const hugeString = fc.constantFrom(20_000, 70_000).map((n) => 'Ư'.repeat(n));
const hostileNumber = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1.5, -1e15, 1e15, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e308, Number.MIN_VALUE, 100_000_000_001),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: nastyStrings },
  { weight: 1, arbitrary: hugeString },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 4, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.constant({ __proto__: { admin: true }, constructor: { prototype: {} } }) },
);

function typesOf(schema: Schema): string[] {
  const t = schema.type;
  return Array.isArray(t) ? (t as string[]) : typeof t === 'string' ? [t] : [];
}

/** Values that respect the documented schema (as far as a generator cheaply can). */
export function fromSchema(node: unknown, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(node) ?? {};
  if (depth > 6) return fc.constant(null);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if ('const' in schema) return fc.constant(schema.const);
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(schema[key])) return fc.oneof(...(schema[key] as unknown[]).map((s) => fromSchema(s, depth + 1)));
  }
  if (Array.isArray(schema.allOf)) {
    const merged: Schema = { type: 'object', properties: {}, required: [] };
    for (const part of (schema.allOf as unknown[]).map((s) => resolve(s))) {
      Object.assign(merged.properties as Schema, part.properties ?? {});
      (merged.required as string[]).push(...((part.required as string[]) ?? []));
    }
    return fromSchema(merged, depth + 1);
  }
  const types = typesOf(schema);
  const choices = types.length > 0 ? types : schema.properties ? ['object'] : ['string'];
  return fc.oneof(...choices.map((type) => fromType(type, schema, depth)));
}

function fromType(type: string, schema: Schema, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : -1_000_000;
      const max = typeof schema.maximum === 'number' ? schema.maximum : 1_000_000_000;
      return fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) });
    }
    case 'array': {
      const maxLength = Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : 3, 3);
      const minLength = Math.min(typeof schema.minItems === 'number' ? schema.minItems : 0, maxLength);
      return fc.array(fromSchema(schema.items ?? {}, depth + 1), { minLength, maxLength });
    }
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, unknown>;
      const required = new Set((schema.required as string[]) ?? []);
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, prop] of Object.entries(properties)) model[name] = fromSchema(prop, depth + 1);
      return fc.record(model, { requiredKeys: Object.keys(model).filter((k) => required.has(k)) });
    }
    default:
      return stringFromSchema(schema);
  }
}

function stringFromSchema(schema: Schema): fc.Arbitrary<string> {
  if (schema.format === 'date') return fc.date({ min: new Date('2020-01-01'), max: new Date('2032-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  if (schema.format === 'date-time') return fc.date({ min: new Date('2020-01-01'), max: new Date('2032-12-31'), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'uri') return fc.webUrl();
  if (typeof schema.pattern === 'string') {
    try {
      return fc.stringMatching(new RegExp(schema.pattern));
    } catch {
      // A pattern fast-check cannot generate from: fall through to plain strings.
    }
  }
  const maxLength = Math.min(typeof schema.maxLength === 'number' ? schema.maxLength : 60, 200);
  const minLength = Math.min(typeof schema.minLength === 'number' ? schema.minLength : 0, maxLength);
  return fc.string({ unit: 'grapheme', minLength, maxLength });
}

/** A fuzzed request, ready to send; `label` says how it was broken (printed on failure). */
export interface FuzzRequest {
  op: Operation;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
  label: string[];
}

export interface FuzzContext {
  /** Real ids from the database by prefix (`sch`, `cls`, ...) and `personal_id`, so some requests reach past the lookups. */
  realIds: Record<string, string[]>;
  /** Bearer tokens by role name; `null` sends none. */
  tokens: Record<string, string | null>;
}

function idPrefixOf(schema: Schema): string | null {
  const match = typeof schema.pattern === 'string' ? /^\^([a-z]+)_\[0-9a-f\]\{32\}\$$/.exec(schema.pattern) : null;
  return match ? match[1]! : null;
}

function pathValue(param: Parameter, ctx: FuzzContext): fc.Arbitrary<[string, string]> {
  const schema = resolve(param.schema ?? {});
  const prefix = idPrefixOf(schema);
  const real = (prefix ? ctx.realIds[prefix] : ctx.realIds[param.name]) ?? [];
  const raw: fc.Arbitrary<[string, string]>[] = [
    fromSchema(schema).map((v) => [String(v), 'well-formed']),
    nastyStrings.map((v) => [v, 'nasty']),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map((v) => [v, 'unicode']),
    fc.constantFrom('0', '-1', '99999999999999999999', 'A'.repeat(2000)).map((v) => [v, 'odd']),
  ];
  if (real.length > 0) raw.unshift(fc.constantFrom(...real).map((v) => [v, 'real']), fc.constantFrom(...real).map((v) => [v, 'real']));
  return fc.oneof(...raw);
}

function encodeSegment(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    // A lone surrogate cannot be encoded as UTF-8: send its raw escape instead.
    return '%ED%A0%80';
  }
}

function queryString(op: Operation): fc.Arbitrary<[string, string]> {
  const documented = op.parameters.filter((p) => p.in === 'query');
  const pairs = fc.array(
    fc.oneof(
      ...(documented.length > 0
        ? [
            fc.tuple(fc.constantFrom(...documented), fc.boolean()).chain(([p, valid]) => (valid ? fromSchema(p.schema ?? {}) : hostileValue).map((v) => [p.name, typeof v === 'string' ? v : JSON.stringify(v) ?? ''] as [string, string])),
          ]
        : []),
      fc.tuple(fc.constantFrom('limit', 'starting_after', 'x', 'status', '__proto__', 'a[b]', 'limit[]'), hostileValue).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''] as [string, string]),
    ),
    { maxLength: 4 },
  );
  return fc.oneof(
    // Values are cut to 500 characters: a URL over Node's 16 KB header limit is refused by its HTTP parser (431) before the app sees it.
    { weight: 6, arbitrary: pairs.map((ps): [string, string] => [ps.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v.slice(0, 500))}`).join('&'), ps.length > 0 ? 'query' : '']) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', 'a=%E0%A4%A', '&&&', '=', 'limit=1&limit=2', 'limit=1e3', 'limit=0x10', 'limit=%00').map((q) => [q, 'raw query'] as [string, string]) },
  );
}

function jsonText(value: unknown): string {
  return JSON.stringify(value) ?? 'null';
}

/** The body of a request: valid-looking, broken in one field, or not what the route reads at all. */
function bodyFor(op: Operation): fc.Arbitrary<{ body: Buffer | null; contentType: string | null; label: string }> {
  const jsonSchema = op.requestBodies['application/json'];
  const documentedType = Object.keys(op.requestBodies)[0] ?? (op.bodyKind === 'raw' ? 'application/json' : null);
  const valid = jsonSchema ? fromSchema(jsonSchema) : fc.jsonValue({ maxDepth: 2 });
  const asJson = (label: string) => (v: unknown) => ({ body: Buffer.from(jsonText(v)), contentType: 'application/json', label });
  const broken = valid.chain((v) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return hostileValue.map(asJson('hostile body'));
    const keys = Object.keys(v);
    return fc.oneof(
      // one field replaced by a hostile value
      fc.tuple(keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('x'), hostileValue).map(([k, h]) => asJson(`field ${k} hostile`)({ ...v, [k]: h })),
      // one field removed
      (keys.length > 0 ? fc.constantFrom(...keys) : fc.constant('x')).map((k) => {
        const rest = { ...(v as Record<string, unknown>) };
        delete rest[k];
        return asJson(`field ${k} missing`)(rest);
      }),
      // an extra field
      fc.tuple(fc.constantFrom('extra', 'school_id', 'status', 'amount_vnd', 'id', '__proto__', 'role'), hostileValue).map(([k, h]) => asJson(`extra field ${k}`)({ ...v, [k]: h })),
    );
  });
  const malformed = fc
    .constantFrom('{', '{"a":', '[1,2', '{"a":1}}', 'nul', '\u00ff\u00fe', '{"a":"\\ud800"}', '\uFEFF{}', '{"amount_vnd": 1e999}', ' ', "{'a':1}", '{"a":1,}')
    .map((t) => ({ body: Buffer.from(t), contentType: 'application/json', label: 'malformed json' }));
  const badBytes = fc.constantFrom(Buffer.from([0xc3, 0x28]), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('{"a":"\xc3\x28"}', 'latin1')).map((b) => ({ body: b, contentType: 'application/json', label: 'invalid utf-8' }));
  const wrongType = fc
    .tuple(valid, fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'text/csv', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'image/png', ''))
    .map(([v, type]) => ({ body: Buffer.from(jsonText(v)), contentType: type || null, label: `content-type ${type || '(none)'}` }));
  const tooLarge = fc.constant({ body: Buffer.from(jsonText({ a: 'x'.repeat(1_100_000) })), contentType: 'application/json', label: 'over 1 MB' });
  const csv = fc
    .array(fc.array(fc.oneof(nastyStrings, fc.string({ unit: 'grapheme', maxLength: 20 })), { maxLength: 8 }), { maxLength: 6 })
    .map((rows) => ({ body: Buffer.from(rows.map((r) => r.join(',')).join('\n')), contentType: 'text/csv', label: 'csv' }));
  const form = fc
    .dictionary(fc.constantFrom('grant_type', 'code', 'client_id', 'client_secret', 'redirect_uri', 'code_verifier', 'x'), fc.oneof(nastyStrings, fc.string({ maxLength: 50 })))
    .map((d) => ({ body: Buffer.from(new URLSearchParams(d).toString()), contentType: 'application/x-www-form-urlencoded', label: 'form' }));
  const empty = fc.constant({ body: null, contentType: documentedType, label: 'no body' });

  const arbitraries: fc.WeightedArbitrary<{ body: Buffer | null; contentType: string | null; label: string }>[] = [
    { weight: 3, arbitrary: valid.map(asJson('schema-shaped body')) },
    { weight: 8, arbitrary: broken },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map(asJson('random json')) },
    { weight: 2, arbitrary: malformed },
    { weight: 1, arbitrary: badBytes },
    { weight: 2, arbitrary: wrongType },
    { weight: 1, arbitrary: empty },
  ];
  if (op.requestBodies['text/csv']) arbitraries.push({ weight: 4, arbitrary: csv });
  if (op.requestBodies['application/x-www-form-urlencoded']) arbitraries.push({ weight: 6, arbitrary: form });
  // Over-size bodies cost a megabyte each: rare (about 1 in 200).
  return fc.oneof(...arbitraries.map((a) => ({ weight: a.weight * 10, arbitrary: a.arbitrary })), { weight: 1, arbitrary: tooLarge });
}

/** One fuzzed request for `op`. */
export function requestFor(op: Operation, ctx: FuzzContext): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.path.match(/:([A-Za-z0-9_]+)/g)?.map((p) => p.slice(1)) ?? [];
  const paramArbs = pathParams.map((name) => pathValue(op.parameters.find((p) => p.in === 'path' && p.name === name) ?? { name, in: 'path' }, ctx));
  const roles = Object.keys(ctx.tokens);
  const hasBody = op.bodyKind !== 'none' || op.method !== 'get';
  return fc
    .record({
      params: fc.tuple(...paramArbs),
      query: queryString(op),
      role: fc.constantFrom(...roles),
      body: hasBody ? bodyFor(op) : fc.oneof({ weight: 9, arbitrary: fc.constant({ body: null, contentType: null, label: '' }) }, { weight: 1, arbitrary: fc.constant({ body: Buffer.from('{"unexpected":true}'), contentType: 'application/json', label: 'body on a GET' }) }),
      idempotencyKey: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: fc.constantFrom('', ' ', 'cl\u00e9', 'a'.repeat(300), 'a b') }),
      method: fc.oneof({ weight: 19, arbitrary: fc.constant(op.method.toUpperCase()) }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'POST', 'GET') }),
    })
    .map(({ params, query, role, body, idempotencyKey, method }) => {
      let path = op.path;
      const label: string[] = [`role=${role}`];
      pathParams.forEach((name, i) => {
        const [value, how] = params[i]!;
        // Cut to 3,000 encoded characters: with the query (at most about 4,000) and a token the
        // request stays under Node's 16 KB header limit, which Node's parser answers with 431 itself.
        path = path.replace(`:${name}`, encodeSegment(value).slice(0, 3000).replace(/%[0-9A-F]?$/, '') || '%20');
        label.push(`${name}:${how}`);
      });
      if (query[0]) path += `?${query[0].slice(0, 4000).replace(/%[0-9A-F]?$/, '')}`;
      if (query[1]) label.push(query[1]);
      const headers: Record<string, string> = {};
      const token = ctx.tokens[role];
      if (token) headers.authorization = `Bearer ${token}`;
      if (body.contentType) headers['content-type'] = body.contentType;
      if (idempotencyKey !== null) {
        headers['idempotency-key'] = idempotencyKey;
        label.push('idempotency-key');
      }
      if (body.label) label.push(body.label);
      if (method !== op.method.toUpperCase()) label.push(`method ${method}`);
      return { op, method, path, headers, body: body.body, label };
    });
}
