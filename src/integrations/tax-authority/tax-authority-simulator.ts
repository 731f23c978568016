import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RouteDef } from '../../http/routes';
import { parseBody } from '../../http/validate';
import { replyToXml, type TaxReply, xmlValue } from './tax-authority';

/**
 * A development stand-in for the tax authority's receiving service, speaking the XML of
 * tax-authority.ts. It accepts each receipt once (a resubmission gets the same acceptance code,
 * flagged as a duplicate), rejects what it is told to, and can be told to fail (HTTP 503) or time
 * out (answer late, after having accepted) for a share of submissions. Mounted with the other
 * simulators; its state lives in memory, per process.
 */
export class TaxAuthoritySimulator {
  behaviour = { failRate: 0, timeoutRate: 0, delayMs: 2000, reject: [] as { symbol: string; number: number; code: string; reason: string }[] };
  private readonly accepted = new Map<string, string>();
  /** Every submission seen, in order, and how many times each receipt event was newly accepted. */
  readonly log: { key: string; outcome: 'accepted' | 'duplicate' | 'rejected' | 'failed' | 'timeout' }[] = [];

  handle(xml: string): { status: number; body: string; delayMs: number } {
    const messageId = xmlValue(xml, 'MTDiep') ?? '';
    const kind = xmlValue(xml, 'MLTDiep');
    const key = `${xmlValue(xml, 'MST')}|${xmlValue(xml, 'KHMSBLai')}|${xmlValue(xml, 'KHBLai')}|${xmlValue(xml, 'SBLai')}|${kind}`;
    const roll = Math.random();
    if (roll < this.behaviour.failRate) {
      this.log.push({ key, outcome: 'failed' });
      return { status: 503, body: 'Service Unavailable', delayMs: 0 };
    }
    const rule = this.behaviour.reject.find((r) => r.symbol === xmlValue(xml, 'KHBLai') && String(r.number) === xmlValue(xml, 'SBLai'));
    let reply: TaxReply;
    if (rule && !this.accepted.has(key)) {
      reply = { outcome: 'rejected', code: rule.code, reason: rule.reason };
      this.log.push({ key, outcome: 'rejected' });
    } else if (this.accepted.has(key)) {
      reply = { outcome: 'accepted', acceptanceCode: this.accepted.get(key)!, duplicate: true };
      this.log.push({ key, outcome: 'duplicate' });
    } else {
      const code = `M1-${randomBytes(6).toString('hex').toUpperCase()}`;
      this.accepted.set(key, code);
      reply = { outcome: 'accepted', acceptanceCode: code, duplicate: false };
      this.log.push({ key, outcome: 'accepted' });
    }
    // A timeout answers late: the authority did the work, the sender stopped waiting.
    const late = roll < this.behaviour.failRate + this.behaviour.timeoutRate;
    if (late) this.log.push({ key, outcome: 'timeout' });
    return { status: 200, body: replyToXml(messageId, reply), delayMs: late ? this.behaviour.delayMs : 0 };
  }
}

const BehaviourBody = z
  .object({
    fail_rate: z.number().min(0).max(1).default(0),
    timeout_rate: z.number().min(0).max(1).default(0),
    delay_ms: z.number().int().min(0).max(60_000).default(2000),
    reject: z.array(z.object({ symbol: z.string().max(20), number: z.number().int().min(1), code: z.string().max(40), reason: z.string().max(500) }).strict()).max(1000).default([]),
  })
  .strict();

export function taxAuthoritySimulatorRoutes(sim: TaxAuthoritySimulator): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/sim/tax/receipts',
      auth: 'public',
      body: 'raw',
      handler: async (req, res) => {
        const answer = sim.handle(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
        if (answer.delayMs > 0) await new Promise((r) => setTimeout(r, answer.delayMs));
        if (res.destroyed) return;
        res.status(answer.status).type(answer.status === 200 ? 'application/xml' : 'text/plain').send(answer.body);
      },
    },
    {
      method: 'put',
      path: '/sim/tax/behaviour',
      auth: 'public',
      handler: async (req, res) => {
        const b = parseBody(BehaviourBody, req);
        sim.behaviour = { failRate: b.fail_rate, timeoutRate: b.timeout_rate, delayMs: b.delay_ms, reject: b.reject };
        res.json(b);
      },
    },
    {
      method: 'get',
      path: '/sim/tax/submissions',
      auth: 'public',
      handler: async (_req, res) => {
        const byKey = new Map<string, Record<string, number>>();
        for (const e of sim.log) {
          const counts = byKey.get(e.key) ?? {};
          counts[e.outcome] = (counts[e.outcome] ?? 0) + 1;
          byKey.set(e.key, counts);
        }
        res.json({ data: [...byKey.entries()].map(([key, counts]) => ({ key, accepted: counts.accepted ?? 0, duplicate: counts.duplicate ?? 0, rejected: counts.rejected ?? 0, failed: counts.failed ?? 0, timeout: counts.timeout ?? 0 })) });
      },
    },
  ];
}
