import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { InboundRequest, Outcome, Provider, SignedRequest, SimTransfer } from '../../src/integrations/banks/bank-adapter';
import { parseVietnamLocal } from '../../src/integrations/banks/bank-adapter';
import { cassoAdapter } from '../../src/integrations/banks/casso';
import { directAdapter, signDirect } from '../../src/integrations/banks/direct';
import { BANK_ADAPTERS, SIGNERS } from '../../src/integrations/banks/index';
import { sepayAdapter } from '../../src/integrations/banks/sepay';
import { phpUrlencode, vnpaySignedData, vnpayAdapter } from '../../src/integrations/banks/vnpay';

const MINUTE_MS = 60_000;

/** What an HTTP route would hand the adapter for a request the provider sent: the query goes through a URL and back. */
function toInbound(signed: SignedRequest): InboundRequest {
  const headers = Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value]));
  const queryString = new URLSearchParams(signed.query).toString();
  return { headers, rawBody: Buffer.from(signed.body ?? '', 'utf8'), query: Object.fromEntries(new URLSearchParams(queryString)) };
}

/** The same request with one byte of the raw body replaced. */
function withBodyByteChanged(req: InboundRequest, index: number, byte: string): InboundRequest {
  const rawBody = Buffer.from(req.rawBody);
  rawBody[index] = byte.charCodeAt(0);
  return { ...req, rawBody };
}

// Vectors from shared/reference/FORMATS.md, "Bank-transfer notifications".
const CASSO_VECTOR = {
  key: 'mgExMrjj4i7a1p8Cs6LmFbpCd8lbw4sSX4LZXPag7TKazeIogtR90tvWYTkwQbvs',
  body: '{"error":0,"data":{"id":0,"reference":"MA_GIAO_DICH_THU_NGHIEM","description":"giao dich thu nghiem","amount":599000,"runningBalance":25000000,"transactionDateTime":"2024-10-03 15:06:37","accountNumber":"88888888","bankName":"VPBank","bankAbbreviation":"VPB","virtualAccountNumber":"","virtualAccountName":"","counterAccountName":"NGUYEN VAN A","counterAccountNumber":"8888888888","counterAccountBankId":"970415","counterAccountBankName":"VietinBank"}}',
  header:
    't=1727948258788,v1=ed0a4bd2e826d5cb69988cdb141e6c1a080e21f3b57eb72cd78192220042b9e7dde0868fc667faea8e224900fa7904e7c88dfa098032fb2d6b6996856e8b7ff3',
  signedAt: new Date(1727948258788),
};

const VNPAY_VECTOR = {
  secret: 'DEMOSECRETDEMOSECRETDEMOSECRET12',
  data: 'vnp_Amount=245000000&vnp_BankCode=NCB&vnp_BankTranNo=VNP14831393&vnp_CardType=ATM&vnp_OrderInfo=Thanh+toan+hoc+phi+HP2526T09K7Q3&vnp_PayDate=20250915103000&vnp_ResponseCode=00&vnp_TmnCode=DEMOTMN1&vnp_TransactionNo=14831393&vnp_TransactionStatus=00&vnp_TxnRef=HP2526T09K7Q3',
  hash: 'df3df166babdf41ddc760e0cfd7033bd7fb51d5c81425a53101a9ce846f1ac3a69ad049dee2916c2bb3d68596d9e28a6c7ffc4a274def9f6588b9eab69ff8a0a',
};

/** The vector's query as a route would see it: decoded (URLSearchParams turns '+' into a space), plus the hash. */
function vnpayVectorRequest(hash = VNPAY_VECTOR.hash): InboundRequest {
  const query = Object.fromEntries(new URLSearchParams(VNPAY_VECTOR.data));
  return { headers: {}, rawBody: Buffer.alloc(0), query: { ...query, vnp_SecureHashType: 'HmacSHA512', vnp_SecureHash: hash } };
}

describe('Casso webhook v2 signature (FORMATS.md vector)', () => {
  const vector: InboundRequest = {
    headers: { 'x-casso-signature': CASSO_VECTOR.header, 'content-type': 'application/json' },
    rawBody: Buffer.from(CASSO_VECTOR.body),
    query: {},
  };

  test('when Casso sends the documented test transfer, then its signature verifies at the moment it was signed', () => {
    expect(cassoAdapter.verify(vector, CASSO_VECTOR.key, CASSO_VECTOR.signedAt)).toEqual({ ok: true });
  });

  test('when one byte of the amount is changed (599000 -> 599001), then the signature fails', () => {
    const index = CASSO_VECTOR.body.indexOf('599000') + 5;
    expect(cassoAdapter.verify(withBodyByteChanged(vector, index, '1'), CASSO_VECTOR.key, CASSO_VECTOR.signedAt).ok).toBe(false);
  });

  test('when checked with another key, then the signature fails', () => {
    const otherKey = `${CASSO_VECTOR.key.slice(0, -1)}t`;
    expect(cassoAdapter.verify(vector, otherKey, CASSO_VECTOR.signedAt).ok).toBe(false);
  });

  test('when our clock is 6 minutes after or before the signature time, then it is refused as a replay; 4 minutes is fine', () => {
    const at = (offsetMs: number) => new Date(CASSO_VECTOR.signedAt.getTime() + offsetMs);
    expect(cassoAdapter.verify(vector, CASSO_VECTOR.key, at(6 * MINUTE_MS)).ok).toBe(false);
    expect(cassoAdapter.verify(vector, CASSO_VECTOR.key, at(-6 * MINUTE_MS)).ok).toBe(false);
    expect(cassoAdapter.verify(vector, CASSO_VECTOR.key, at(4 * MINUTE_MS)).ok).toBe(true);
  });

  test('when the body is re-serialized with other whitespace and key order, then it still verifies, because Casso signs the parsed body', () => {
    const reordered = JSON.stringify({ data: JSON.parse(CASSO_VECTOR.body).data, error: 0 }, null, 2);
    expect(cassoAdapter.verify({ ...vector, rawBody: Buffer.from(reordered) }, CASSO_VECTOR.key, CASSO_VECTOR.signedAt).ok).toBe(true);
  });

  test('when the body is not JSON or the header is missing, then verification fails instead of throwing', () => {
    expect(cassoAdapter.verify({ ...vector, rawBody: Buffer.from('not json') }, CASSO_VECTOR.key, CASSO_VECTOR.signedAt).ok).toBe(false);
    expect(cassoAdapter.verify({ ...vector, headers: {} }, CASSO_VECTOR.key, CASSO_VECTOR.signedAt).ok).toBe(false);
  });

  test('the test transfer parses into an incoming 599000 VND transfer at 15:06:37 Vietnam time', () => {
    const result = cassoAdapter.parse(vector);
    expect(result).toEqual({
      ok: true,
      transfer: {
        externalId: '0',
        amountVnd: 599000,
        direction: 'in',
        accountNumber: '88888888',
        virtualAccount: null,
        description: 'giao dich thu nghiem',
        paymentCodeHint: null,
        occurredAt: '2024-10-03T08:06:37.000Z',
        bankReference: 'MA_GIAO_DICH_THU_NGHIEM',
        payerName: 'NGUYEN VAN A',
        succeeded: true,
      },
    });
  });
});

describe('VNPay IPN signature (FORMATS.md regression vector)', () => {
  test('the data we hash from the decoded query is exactly the documented string, and its HMAC is the documented hash', () => {
    const req = vnpayVectorRequest();
    expect(vnpaySignedData(req.query)).toBe(VNPAY_VECTOR.data);
    expect(createHmac('sha512', VNPAY_VECTOR.secret).update(vnpaySignedData(req.query)).digest('hex')).toBe(VNPAY_VECTOR.hash);
  });

  test('when VNPay calls back with the vector, then verify accepts it, in either hex case', () => {
    expect(vnpayAdapter.verify(vnpayVectorRequest(), VNPAY_VECTOR.secret, new Date()).ok).toBe(true);
    expect(vnpayAdapter.verify(vnpayVectorRequest(VNPAY_VECTOR.hash.toUpperCase()), VNPAY_VECTOR.secret, new Date()).ok).toBe(true);
  });

  test('when someone raises the amount by one dong, then verify rejects it', () => {
    const req = vnpayVectorRequest();
    const tampered = { ...req, query: { ...req.query, vnp_Amount: '245000100' } };
    expect(vnpayAdapter.verify(tampered, VNPAY_VECTOR.secret, new Date()).ok).toBe(false);
  });

  test('when the hash is missing or the secret is wrong, then verify rejects it', () => {
    const withoutHash = { ...vnpayVectorRequest().query };
    delete withoutHash.vnp_SecureHash;
    expect(vnpayAdapter.verify({ ...vnpayVectorRequest(), query: withoutHash }, VNPAY_VECTOR.secret, new Date()).ok).toBe(false);
    expect(vnpayAdapter.verify(vnpayVectorRequest(), 'DEMOSECRETDEMOSECRETDEMOSECRET13', new Date()).ok).toBe(false);
  });

  test('the vector parses into a paid 2,450,000 VND transfer with the payment code as a hint', () => {
    expect(vnpayAdapter.parse(vnpayVectorRequest())).toEqual({
      ok: true,
      transfer: {
        externalId: '14831393',
        amountVnd: 2450000,
        direction: 'in',
        accountNumber: '',
        virtualAccount: null,
        description: 'Thanh toan hoc phi HP2526T09K7Q3',
        paymentCodeHint: 'HP2526T09K7Q3',
        occurredAt: '2025-09-15T03:30:00.000Z',
        bankReference: 'VNP14831393',
        payerName: null,
        succeeded: true,
      },
    });
  });

  test('when the customer cancelled (response code 24), then the transfer parses but is not a success', () => {
    const req = vnpayVectorRequest();
    const result = vnpayAdapter.parse({ ...req, query: { ...req.query, vnp_ResponseCode: '24', vnp_TransactionStatus: '02' } });
    expect(result.ok).toBe(true);
    expect(result.ok && result.transfer.succeeded).toBe(false);
  });

  test('values are encoded as PHP urlencode does: space as +, and ! \' ( ) * ~ percent-encoded', () => {
    expect(phpUrlencode("Hoc phi (T9)! 'K7' *~-_.")).toBe('Hoc+phi+%28T9%29%21+%27K7%27+%2A%7E-_.');
    expect(phpUrlencode('Học phí')).toBe('H%E1%BB%8Dc+ph%C3%AD');
  });
});

describe('direct bank partners (Standard Webhooks)', () => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
  const payload = JSON.stringify({
    transaction_id: 'FT25258123456',
    account_number: '0071000123456',
    amount_vnd: 2450000,
    description: 'HP2526T09K7Q3 hoc phi thang 9',
    occurred_at: '2025-09-15T10:30:00+07:00',
  });

  test('when the standardwebhooks package signs a notification, then our adapter verifies and parses it', () => {
    const sentAt = new Date('2025-09-15T03:30:05Z');
    const req: InboundRequest = {
      headers: {
        'webhook-id': 'msg_2f8KxQ',
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign('msg_2f8KxQ', sentAt, payload),
      },
      rawBody: Buffer.from(payload),
      query: {},
    };
    expect(directAdapter.verify(req, secret, new Date(sentAt.getTime() + 30_000))).toEqual({ ok: true });
    const parsed = directAdapter.parse(req);
    expect(parsed.ok && parsed.transfer).toMatchObject({
      externalId: 'msg_2f8KxQ',
      amountVnd: 2450000,
      occurredAt: '2025-09-15T03:30:00.000Z',
      bankReference: 'FT25258123456',
    });
  });

  test('when our signDirect signs a transfer, then the standardwebhooks package verifies it', () => {
    const now = new Date(); // the package checks the timestamp against the real clock
    const signed = signDirect(
      { externalId: 'evt_01', amountVnd: 1500000, accountNumber: '0071000123456', description: 'HP2526T09K7Q3', occurredAt: now },
      secret,
      now,
    );
    expect(new Webhook(secret).verify(signed.body ?? '', signed.headers)).toMatchObject({ amount_vnd: 1500000 });
  });

  test('when the header lists several signatures (key rotation), then one match is enough', () => {
    const sentAt = new Date('2025-09-15T03:30:05Z');
    const good = new Webhook(secret).sign('msg_rot', sentAt, payload);
    const stale = new Webhook(`whsec_${Buffer.alloc(32, 9).toString('base64')}`).sign('msg_rot', sentAt, payload);
    const req: InboundRequest = {
      headers: { 'webhook-id': 'msg_rot', 'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)), 'webhook-signature': `${stale} v2,abc ${good}` },
      rawBody: Buffer.from(payload),
      query: {},
    };
    expect(directAdapter.verify(req, secret, sentAt).ok).toBe(true);
    expect(directAdapter.verify({ ...req, headers: { ...req.headers, 'webhook-signature': stale } }, secret, sentAt).ok).toBe(false);
  });

  test('when the body has a field our format does not define, then parse refuses it and names the field', () => {
    const req: InboundRequest = {
      headers: { 'webhook-id': 'msg_x' },
      rawBody: Buffer.from(JSON.stringify({ ...JSON.parse(payload), fee_vnd: 1100 })),
      query: {},
    };
    expect(directAdapter.parse(req)).toMatchObject({ ok: false, param: 'fee_vnd' });
  });
});

const NOW = new Date('2025-09-15T03:30:00Z');
const TRANSFER: SimTransfer = {
  externalId: '92704511',
  amountVnd: 2450000,
  accountNumber: '0071000123456',
  description: 'NGUYEN VAN A chuyen tien HP2526T09K7Q3 hoc phi',
  paymentCode: 'HP2526T09K7Q3',
  occurredAt: new Date('2025-09-15T03:29:41Z'),
  bankReference: 'FT25258123456',
  payerName: 'NGUYEN VAN A',
  virtualAccount: 'VQRQ00012345',
};
const SECRETS: Record<Provider, string> = {
  sepay: 'sepay-api-key-9f3c1a',
  casso: 'casso-checksum-key-51be0d',
  vnpay: 'VNPAYHASHSECRET0123456789ABCDEF',
  direct: `whsec_${Buffer.alloc(24, 3).toString('base64')}`,
};
const OTHER_SECRETS: Record<Provider, string> = {
  sepay: 'sepay-api-key-9f3c1b',
  casso: 'casso-checksum-key-51be0e',
  vnpay: 'VNPAYHASHSECRET0123456789ABCDEG',
  direct: `whsec_${Buffer.alloc(24, 4).toString('base64')}`,
};
const PROVIDERS: Provider[] = ['sepay', 'casso', 'vnpay', 'direct'];

function signedRequest(provider: Provider, transfer: SimTransfer = TRANSFER): InboundRequest {
  return toInbound(SIGNERS[provider](transfer, SECRETS[provider], NOW));
}

/** Rewrites one field of a signed request's payload (parse does not look at signatures). */
function withPayloadField(provider: Provider, field: string, value: unknown): InboundRequest {
  const req = signedRequest(provider);
  if (provider === 'vnpay') {
    const query = { ...req.query };
    if (value === undefined) delete query[field];
    else query[field] = String(value);
    return { ...req, query };
  }
  const body = JSON.parse(req.rawBody.toString()) as Record<string, unknown>;
  const path = field.split('.');
  const last = path.pop() ?? field;
  const parent = path.reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, body);
  if (value === undefined) delete parent[last];
  else parent[last] = value;
  return { ...req, rawBody: Buffer.from(JSON.stringify(body)) };
}

describe.each(PROVIDERS)('%s adapter', (provider) => {
  const adapter = BANK_ADAPTERS[provider];

  test('when a transfer is signed, then it verifies and parses back to the same amount, account, description and id', () => {
    const req = signedRequest(provider);
    expect(adapter.provider).toBe(provider);
    expect(adapter.verify(req, SECRETS[provider], NOW)).toEqual({ ok: true });
    const parsed = adapter.parse(req);
    if (!parsed.ok) throw new Error(`parse failed: ${parsed.reason}`);
    expect(parsed.transfer.amountVnd).toBe(TRANSFER.amountVnd);
    expect(parsed.transfer.accountNumber).toBe(provider === 'vnpay' ? '' : TRANSFER.accountNumber);
    expect(parsed.transfer.description).toContain('HP2526T09K7Q3');
    expect(parsed.transfer.externalId).toBe(TRANSFER.externalId);
    expect(parsed.transfer.direction).toBe('in');
    expect(parsed.transfer.succeeded).toBe(true);
    expect(parsed.transfer.occurredAt).toBe('2025-09-15T03:29:41.000Z');
  });

  test('when the request is signed with another secret, then verify rejects it', () => {
    expect(adapter.verify(signedRequest(provider), OTHER_SECRETS[provider], NOW).ok).toBe(false);
  });

  test('when verify is given an empty secret (a missing configuration), then it rejects rather than accepts', () => {
    expect(adapter.verify(signedRequest(provider), '', NOW).ok).toBe(false);
  });

  test('when the request carries no credentials at all, then verify rejects it', () => {
    const req = signedRequest(provider);
    const bare: InboundRequest = provider === 'vnpay' ? { ...req, query: { ...req.query, vnp_SecureHash: '' } } : { ...req, headers: {} };
    expect(adapter.verify(bare, SECRETS[provider], NOW).ok).toBe(false);
  });

  test('when the payload carries a non-JSON or empty body, then parse refuses it instead of throwing', () => {
    const req = provider === 'vnpay' ? { ...signedRequest(provider), query: {} } : { ...signedRequest(provider), rawBody: Buffer.from('{') };
    expect(adapter.parse(req).ok).toBe(false);
  });
});

describe('a one-byte change is caught by every signature', () => {
  test.each(['casso', 'direct'] as const)('%s: changing one digit of the amount in the body fails verification', (provider) => {
    const req = signedRequest(provider);
    const index = req.rawBody.indexOf('2450000') + 1;
    expect(BANK_ADAPTERS[provider].verify(withBodyByteChanged(req, index, '9'), SECRETS[provider], NOW).ok).toBe(false);
  });

  test('vnpay: changing one character of the amount in the query fails verification', () => {
    const req = signedRequest('vnpay');
    const tampered = { ...req, query: { ...req.query, vnp_Amount: req.query.vnp_Amount?.replace(/^2/, '9') ?? '' } };
    expect(tampered.query.vnp_Amount).toBe('945000000');
    expect(vnpayAdapter.verify(tampered, SECRETS.vnpay, NOW).ok).toBe(false);
  });

  test('sepay: changing one byte of the API key fails; the key does not cover the body, so body changes go unnoticed by design', () => {
    const req = signedRequest('sepay');
    const authorization = req.headers.authorization ?? '';
    const wrongKey = { ...req, headers: { authorization: `${authorization.slice(0, -1)}b` } };
    expect(sepayAdapter.verify(wrongKey, SECRETS.sepay, NOW).ok).toBe(false);
    const index = req.rawBody.indexOf('2450000') + 1;
    expect(sepayAdapter.verify(withBodyByteChanged(req, index, '9'), SECRETS.sepay, NOW).ok).toBe(true);
  });

  test.each(['casso', 'direct'] as const)('%s: a signature more than 5 minutes old or ahead of our clock is refused', (provider) => {
    const req = signedRequest(provider);
    const adapter = BANK_ADAPTERS[provider];
    expect(adapter.verify(req, SECRETS[provider], new Date(NOW.getTime() + 6 * MINUTE_MS)).ok).toBe(false);
    expect(adapter.verify(req, SECRETS[provider], new Date(NOW.getTime() - 6 * MINUTE_MS)).ok).toBe(false);
    expect(adapter.verify(req, SECRETS[provider], new Date(NOW.getTime() + 5 * MINUTE_MS)).ok).toBe(true);
  });
});

describe('malformed payloads are refused by parse, naming the field', () => {
  const AMOUNT_FIELD: Record<Exclude<Provider, 'vnpay'>, string> = {
    sepay: 'transferAmount',
    casso: 'data.amount',
    direct: 'amount_vnd',
  };

  test.each([
    ['sepay', -5],
    ['sepay', 100.5],
    ['sepay', '1000'],
    ['sepay', 0],
    ['sepay', 2 ** 53],
    ['casso', 100.5],
    ['casso', '1000'],
    ['casso', 0],
    ['direct', -5],
    ['direct', 100.5],
    ['direct', '1000'],
    ['direct', 0],
  ] as const)('%s: amount %p', (provider, amount) => {
    const result = BANK_ADAPTERS[provider].parse(withPayloadField(provider, AMOUNT_FIELD[provider], amount));
    expect(result).toMatchObject({ ok: false, param: AMOUNT_FIELD[provider] });
  });

  test.each(['-500', '10050', '100.5', '1000.00', 'abc', '', '0'])('vnpay: vnp_Amount %p', (amount) => {
    expect(vnpayAdapter.parse(withPayloadField('vnpay', 'vnp_Amount', amount))).toMatchObject({ ok: false, param: 'vnp_Amount' });
  });

  test('casso: a negative amount is money leaving the account, so it parses as an outgoing transfer of the absolute amount', () => {
    const result = cassoAdapter.parse(withPayloadField('casso', 'data.amount', -5));
    expect(result.ok && result.transfer).toMatchObject({ direction: 'out', amountVnd: 5 });
  });

  test('sepay: an outgoing transfer keeps its direction', () => {
    const result = sepayAdapter.parse(withPayloadField('sepay', 'transferType', 'out'));
    expect(result.ok && result.transfer.direction).toBe('out');
  });

  test.each([
    ['sepay', 'id'],
    ['sepay', 'transferAmount'],
    ['sepay', 'accountNumber'],
    ['sepay', 'transactionDate'],
    ['casso', 'data.id'],
    ['casso', 'data.amount'],
    ['casso', 'data.accountNumber'],
    ['vnpay', 'vnp_TransactionNo'],
    ['vnpay', 'vnp_TxnRef'],
    ['vnpay', 'vnp_Amount'],
    ['direct', 'amount_vnd'],
    ['direct', 'account_number'],
    ['direct', 'description'],
  ] as const)('%s: missing %s', (provider, field) => {
    expect(BANK_ADAPTERS[provider].parse(withPayloadField(provider, field, undefined))).toMatchObject({ ok: false, param: field });
  });

  test.each([
    ['sepay', 'transactionDate', '2025-02-30 10:00:00'],
    ['sepay', 'transactionDate', '2025-09-15T10:00:00'],
    ['casso', 'data.transactionDateTime', '15/09/2025 10:00'],
    ['vnpay', 'vnp_PayDate', '20251315103000'],
    ['direct', 'occurred_at', '2025-09-15 10:30:00'],
  ] as const)('%s: %s %p is not a time', (provider, field, value) => {
    expect(BANK_ADAPTERS[provider].parse(withPayloadField(provider, field, value))).toMatchObject({ ok: false, param: field });
  });
});

describe('Vietnam local times', () => {
  test('a provider wall-clock time is read as UTC+7 all year (no daylight saving)', () => {
    expect(parseVietnamLocal('2025-01-01 00:00:00')).toBe('2024-12-31T17:00:00.000Z');
    expect(parseVietnamLocal('2025-07-01 06:59:59')).toBe('2025-06-30T23:59:59.000Z');
    expect(parseVietnamLocal('2025-02-29 10:00:00')).toBeNull();
    expect(parseVietnamLocal('2025-09-15 24:00:00')).toBeNull();
  });
});

describe('replies to the provider', () => {
  const OUTCOMES: Outcome[] = [
    'accepted',
    'duplicate',
    'invalid_signature',
    'malformed',
    'order_not_found',
    'invalid_amount',
    'already_confirmed',
    'error',
  ];

  test.each(['sepay', 'casso'] as const)('%s: 200 {success: true} once we have the transfer, 401/400 {success: false} for a bad request', (provider) => {
    const adapter = BANK_ADAPTERS[provider];
    expect(adapter.respond('accepted')).toEqual({ status: 200, body: { success: true } });
    expect(adapter.respond('duplicate')).toEqual({ status: 200, body: { success: true } });
    expect(adapter.respond('invalid_signature')).toEqual({ status: 401, body: { success: false } });
    expect(adapter.respond('malformed')).toEqual({ status: 400, body: { success: false } });
    // Resending an unmatched or already-paid transfer cannot help; our own failure should be retried.
    expect(adapter.respond('order_not_found')).toEqual({ status: 200, body: { success: true } });
    expect(adapter.respond('error').status).toBe(500);
  });

  test('vnpay: always HTTP 200, with the RspCode from the IPN table', () => {
    const expected: Record<Outcome, [string, string]> = {
      accepted: ['00', 'Confirm Success'],
      duplicate: ['02', 'Order already confirmed'],
      already_confirmed: ['02', 'Order already confirmed'],
      order_not_found: ['01', 'Order not found'],
      invalid_amount: ['04', 'Invalid amount'],
      invalid_signature: ['97', 'Invalid signature'],
      malformed: ['99', 'Unknown error'],
      error: ['99', 'Unknown error'],
    };
    for (const outcome of OUTCOMES) {
      const [RspCode, Message] = expected[outcome];
      expect(vnpayAdapter.respond(outcome)).toEqual({ status: 200, body: { RspCode, Message } });
    }
  });

  test('direct: 200 {received: true} for accepted and duplicate, an error body otherwise', () => {
    expect(directAdapter.respond('accepted')).toEqual({ status: 200, body: { received: true } });
    expect(directAdapter.respond('duplicate')).toEqual({ status: 200, body: { received: true } });
    expect(directAdapter.respond('invalid_signature')).toEqual({ status: 401, body: { error: 'invalid_signature' } });
    expect(directAdapter.respond('malformed')).toEqual({ status: 400, body: { error: 'malformed' } });
    for (const outcome of ['order_not_found', 'invalid_amount', 'already_confirmed'] as const) {
      expect(directAdapter.respond(outcome)).toEqual({ status: 400, body: { error: outcome } });
    }
    expect(directAdapter.respond('error').status).toBe(500);
  });
});
