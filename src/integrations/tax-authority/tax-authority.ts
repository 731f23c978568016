/**
 * The port to the tax authority's receiving service for e-receipts (directly, or through a
 * licensed service provider), and its HTTP adapter.
 *
 * Wire format: one XML message per receipt event, loosely modelled on the GDT e-invoice data
 * standard (Decision 1450/QD-TCT: a `TDiep` envelope with `TTChung` header and `DLieu` data):
 *
 *   <TDiep>
 *     <TTChung><PBan>2.1.0</PBan><MNGui>school-fees</MNGui><MLTDiep>400|401</MLTDiep><MTDiep>message id</MTDiep><MST>school tax code</MST></TTChung>
 *     <DLieu><BLai>
 *       <KHMSBLai>01BLP0-001</KHMSBLai><KHBLai>BL-26E</KHBLai><SBLai>12</SBLai><NLap>2026-11-22T10:00:00.000Z</NLap>
 *       <TNNop>payer</TNNop><THSinh>student</THSinh><TgTTTBSo>2450000</TgTTTBSo><TgTTTBChu>Hai triệu ...</TgTTTBChu>
 *       <DSKThu><KThu><Ten>item</Ten><STien>700000</STien></KThu>...</DSKThu>
 *       <MTCuu>lookup code</MTCuu><CKS>base64 Ed25519 signature</CKS><LDHuy>reason (401 only)</LDHuy>
 *     </BLai></DLieu>
 *   </TDiep>
 *
 * MLTDiep 400 submits a receipt, 401 its cancellation. The reply is a `TDiep` whose `DLieu/TBao`
 * holds `KQua` (`1` accepted, `2` rejected), and either `MCCQT` (the authority's acceptance code;
 * a resubmission of an accepted receipt answers the same code with `TLap` = `1`) or `MLoi` and
 * `MTLoi` (rejection code and reason). Anything else (5xx, no answer in time, unreadable) is a
 * transport failure and is retried.
 */
export interface TaxSubmission {
  messageId: string;
  action: 'issue' | 'cancel';
  taxCode: string;
  templateCode: string;
  symbol: string;
  number: number;
  issuedAt: string;
  payerName: string;
  studentName: string;
  totalVnd: number;
  totalInWords: string;
  items: { description: string; amount_vnd: number }[];
  lookupCode: string;
  signature: string;
  cancelReason: string | null;
}

export type TaxReply = { outcome: 'accepted'; acceptanceCode: string; duplicate: boolean } | { outcome: 'rejected'; code: string; reason: string };

export class TaxTransportError extends Error {
  constructor(
    readonly kind: 'timeout' | 'failed',
    message: string,
  ) {
    super(message);
  }
}

export interface TaxAuthority {
  /** Sends one message; resolves with the authority's verdict, throws TaxTransportError when there is none. */
  submit(submission: TaxSubmission, timeoutMs: number): Promise<TaxReply>;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const el = (tag: string, value: string | number) => `<${tag}>${escapeXml(String(value))}</${tag}>`;

export function submissionToXml(s: TaxSubmission): string {
  const items = s.items.map((i) => `<KThu>${el('Ten', i.description)}${el('STien', i.amount_vnd)}</KThu>`).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?><TDiep>' +
    `<TTChung>${el('PBan', '2.1.0')}${el('MNGui', 'school-fees')}${el('MLTDiep', s.action === 'issue' ? 400 : 401)}${el('MTDiep', s.messageId)}${el('MST', s.taxCode)}</TTChung>` +
    `<DLieu><BLai>${el('KHMSBLai', s.templateCode)}${el('KHBLai', s.symbol)}${el('SBLai', s.number)}${el('NLap', s.issuedAt)}` +
    `${el('TNNop', s.payerName)}${el('THSinh', s.studentName)}${el('TgTTTBSo', s.totalVnd)}${el('TgTTTBChu', s.totalInWords)}` +
    `<DSKThu>${items}</DSKThu>${el('MTCuu', s.lookupCode)}${el('CKS', s.signature)}${s.cancelReason ? el('LDHuy', s.cancelReason) : ''}</BLai></DLieu></TDiep>`
  );
}

/** The text of the first `<tag>` in a small, flat XML message (our own and the authority's), unescaped. */
export function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return m ? m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&') : undefined;
}

export function replyToXml(inReplyTo: string, reply: TaxReply): string {
  const body =
    reply.outcome === 'accepted'
      ? `${el('KQua', 1)}${el('MCCQT', reply.acceptanceCode)}${el('TLap', reply.duplicate ? 1 : 0)}`
      : `${el('KQua', 2)}${el('MLoi', reply.code)}${el('MTLoi', reply.reason)}`;
  return `<?xml version="1.0" encoding="UTF-8"?><TDiep><TTChung>${el('PBan', '2.1.0')}${el('MNGui', 'TCT')}${el('MLTDiep', 999)}${el('MTDTChieu', inReplyTo)}</TTChung><DLieu><TBao>${body}</TBao></DLieu></TDiep>`;
}

export function parseReply(xml: string): TaxReply | undefined {
  const verdict = xmlValue(xml, 'KQua');
  if (verdict === '1') {
    const code = xmlValue(xml, 'MCCQT');
    return code ? { outcome: 'accepted', acceptanceCode: code, duplicate: xmlValue(xml, 'TLap') === '1' } : undefined;
  }
  if (verdict === '2') return { outcome: 'rejected', code: xmlValue(xml, 'MLoi') ?? 'UNKNOWN', reason: xmlValue(xml, 'MTLoi') ?? 'no reason given' };
  return undefined;
}

/** The HTTP adapter: POSTs the XML message to `<baseUrl>/receipts`. */
export function createTaxAuthorityClient(baseUrl: string): TaxAuthority {
  const url = `${baseUrl.replace(/\/$/, '')}/receipts`;
  return {
    async submit(submission, timeoutMs) {
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/xml; charset=utf-8' }, body: submissionToXml(submission), signal: AbortSignal.timeout(timeoutMs) });
        text = await res.text();
      } catch (err) {
        const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
        throw new TaxTransportError(timedOut ? 'timeout' : 'failed', err instanceof Error ? err.message : String(err));
      }
      const reply = res.status < 500 ? parseReply(text) : undefined;
      if (!reply) throw new TaxTransportError('failed', `HTTP ${res.status}`);
      return reply;
    },
  };
}
