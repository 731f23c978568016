import { crc16CcittFalse } from './crc16';
import { toAscii } from './vietnamese-text';

// VietQR: the NAPAS 247 profile of the EMVCo merchant-presented QR code, a flat string of TLV
// fields (2-digit id, 2-digit length, value). Layout and vectors: shared/reference/FORMATS.md.

/** What goes into a VietQR code; bill number and purpose may be Vietnamese and are sent as ASCII. */
export interface VietQrInput {
  bankBin: string;
  accountNumber: string;
  /** Present for a one-payment (dynamic) code; absent for a reusable (static) one. */
  amountVnd?: number;
  billNumber?: string;
  /** Bank apps copy it into the transfer description, so it carries the payment code. */
  purpose?: string;
  service?: 'QRIBFTTA' | 'QRIBFTTC';
}

/** The fields read back from a VietQR payload whose CRC checked out. */
export interface DecodedVietQr {
  initiation: 'static' | 'dynamic';
  bankBin: string;
  accountNumber: string;
  service: string;
  currency: string;
  amountVnd?: number;
  country: string;
  billNumber?: string;
  purpose?: string;
}

const NAPAS_GUID = 'A000000727';
const CURRENCY_VND = '704';
const COUNTRY_VN = 'VN';
const CRC_TAG_AND_LENGTH = '6304';
const MAX_ADDITIONAL_DATA_CHARS = 25;
const BANK_BIN = /^\d{6}$/;
const ACCOUNT_NUMBER = /^[0-9A-Za-z]{1,19}$/;
const PRINTABLE_ASCII = /^[\x20-\x7E]*$/;
const UPPERCASE_HEX4 = /^[0-9A-F]{4}$/;

/** Builds the VietQR payload (EMVCo TLV with its CRC) for a transfer to a bank account or card. */
export function encodeVietQr(input: VietQrInput): string {
  if (!BANK_BIN.test(input.bankBin)) throw new RangeError(`bank BIN must be 6 digits, got "${input.bankBin}"`);
  if (!ACCOUNT_NUMBER.test(input.accountNumber)) {
    throw new RangeError('account number must be 1 to 19 letters or digits');
  }
  if (input.amountVnd !== undefined && (!Number.isSafeInteger(input.amountVnd) || input.amountVnd <= 0)) {
    throw new RangeError(`amountVnd must be a positive safe integer, got ${input.amountVnd}`);
  }

  const beneficiary = tlv('00', input.bankBin) + tlv('01', input.accountNumber);
  const merchantAccount = tlv('00', NAPAS_GUID) + tlv('01', beneficiary) + tlv('02', input.service ?? 'QRIBFTTA');
  const additionalData =
    (input.billNumber === undefined ? '' : tlv('01', additionalDataText(input.billNumber, 'billNumber'))) +
    (input.purpose === undefined ? '' : tlv('08', additionalDataText(input.purpose, 'purpose')));

  const body =
    tlv('00', '01') +
    tlv('01', input.amountVnd === undefined ? '11' : '12') +
    tlv('38', merchantAccount) +
    tlv('53', CURRENCY_VND) +
    (input.amountVnd === undefined ? '' : tlv('54', String(input.amountVnd))) +
    tlv('58', COUNTRY_VN) +
    (additionalData === '' ? '' : tlv('62', additionalData)) +
    CRC_TAG_AND_LENGTH;
  // The CRC covers its own tag and length, so they are part of the text it is computed over.
  return body + crc16CcittFalse(body);
}

/** Parses a VietQR payload, verifying its CRC, and returns its fields; throws an Error on anything malformed. */
export function decodeVietQr(payload: string): DecodedVietQr {
  const fields = parseTlv(payload, 'payload');
  const ids = [...fields.keys()];
  if (ids[0] !== '00') throw new Error('VietQR payload must start with tag 00 (payload format)');
  if (ids[ids.length - 1] !== '63') throw new Error('VietQR payload must end with tag 63 (CRC)');

  const crc = fields.get('63') ?? '';
  if (!UPPERCASE_HEX4.test(crc)) throw new Error('VietQR CRC (tag 63) must be 4 uppercase hex digits');
  const expectedCrc = crc16CcittFalse(payload.slice(0, -4));
  if (crc !== expectedCrc) throw new Error(`VietQR CRC mismatch: payload says ${crc}, content gives ${expectedCrc}`);

  if (fields.get('00') !== '01') throw new Error('VietQR payload format (tag 00) must be 01');
  const initiation = fields.get('01');
  if (initiation !== '11' && initiation !== '12') throw new Error('VietQR initiation (tag 01) must be 11 or 12');

  const merchantAccount = parseTlv(required(fields, '38', 'merchant account'), 'tag 38');
  if (merchantAccount.get('00') !== NAPAS_GUID) {
    throw new Error(`VietQR merchant account (tag 38) must carry the NAPAS GUID ${NAPAS_GUID}`);
  }
  const beneficiary = parseTlv(required(merchantAccount, '01', 'beneficiary (tag 38/01)'), 'tag 38/01');

  const decoded: DecodedVietQr = {
    initiation: initiation === '12' ? 'dynamic' : 'static',
    bankBin: required(beneficiary, '00', 'bank BIN (tag 38/01/00)'),
    accountNumber: required(beneficiary, '01', 'account number (tag 38/01/01)'),
    service: required(merchantAccount, '02', 'service (tag 38/02)'),
    currency: required(fields, '53', 'currency'),
    country: required(fields, '58', 'country'),
  };
  const amount = fields.get('54');
  if (amount !== undefined) {
    // VND has no minor unit, so a decimal point here means the code was not made for dong.
    if (!/^\d+$/.test(amount) || !Number.isSafeInteger(Number(amount))) {
      throw new Error(`VietQR amount (tag 54) must be whole dong, got "${amount}"`);
    }
    decoded.amountVnd = Number(amount);
  }
  const additionalData = fields.get('62');
  if (additionalData !== undefined) {
    const additional = parseTlv(additionalData, 'tag 62');
    const billNumber = additional.get('01');
    const purpose = additional.get('08');
    if (billNumber !== undefined) decoded.billNumber = billNumber;
    if (purpose !== undefined) decoded.purpose = purpose;
  }
  return decoded;
}

function tlv(id: string, value: string): string {
  if (value.length < 1 || value.length > 99) {
    throw new RangeError(`VietQR tag ${id} value must be 1 to 99 characters, got ${value.length}`);
  }
  return id + String(value.length).padStart(2, '0') + value;
}

// Bank apps and some readers only cope with ASCII here, so Vietnamese text loses its diacritics.
function additionalDataText(text: string, name: string): string {
  const ascii = toAscii(text);
  if (ascii.length < 1 || ascii.length > MAX_ADDITIONAL_DATA_CHARS) {
    throw new RangeError(`${name} must be 1 to ${MAX_ADDITIONAL_DATA_CHARS} characters after removing diacritics`);
  }
  if (!PRINTABLE_ASCII.test(ascii)) throw new RangeError(`${name} must be printable ASCII after removing diacritics`);
  return ascii;
}

// Keeps the fields in payload order (Map preserves insertion order) so the caller can check which
// tag comes first and last; a repeated tag is refused rather than silently letting one copy win.
function parseTlv(text: string, where: string): Map<string, string> {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < text.length) {
    const header = text.slice(offset, offset + 4);
    if (!/^\d{4}$/.test(header)) throw new Error(`malformed VietQR TLV in ${where} at offset ${offset}`);
    const id = header.slice(0, 2);
    const length = Number(header.slice(2));
    if (length < 1 || offset + 4 + length > text.length) {
      throw new Error(`malformed VietQR TLV in ${where}: tag ${id} at offset ${offset} has a bad length`);
    }
    if (fields.has(id)) throw new Error(`malformed VietQR TLV in ${where}: tag ${id} appears twice`);
    fields.set(id, text.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return fields;
}

function required(fields: Map<string, string>, id: string, name: string): string {
  const value = fields.get(id);
  if (value === undefined) throw new Error(`VietQR payload is missing ${name}`);
  return value;
}
