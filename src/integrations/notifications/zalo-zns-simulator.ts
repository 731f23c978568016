import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RouteDef } from '../../http/routes';
import { parseBody } from '../../http/validate';
import { OVERDUE_TEMPLATE_ID } from './zalo-zns';

/**
 * A development stand-in for Zalo ZNS, speaking the wire format of zalo-zns.ts. It renders the
 * registered template's Vietnamese text with the message's parameters and keeps every message it
 * accepted (in memory, per process; a message sent twice is there twice, so a double send shows).
 * It can be told to fail the next N requests (HTTP 503) and to refuse some phones (-108).
 */
export const SIMULATED_TEMPLATES: Record<string, { params: string[]; text: (d: Record<string, string>) => string }> = {
  [OVERDUE_TEMPLATE_ID]: {
    params: ['student_name', 'school_name', 'invoice_number', 'period', 'amount_due', 'due_date', 'days_overdue', 'payment_code'],
    text: (d) =>
      `Kính gửi Quý phụ huynh em ${d.student_name}: hoá đơn ${d.invoice_number} (${d.period}) của ${d.school_name} còn ${d.amount_due} đồng chưa thanh toán, ` +
      `đã quá hạn ${d.days_overdue} ngày (hạn nộp ${d.due_date}). Quý phụ huynh vui lòng chuyển khoản với nội dung ${d.payment_code}. Xin cảm ơn!`,
  },
};

export interface SimulatedZnsMessage {
  msg_id: string;
  tracking_id: string;
  phone: string;
  template_id: string;
  text: string;
}

export class ZaloZnsSimulator {
  behaviour = { failNext: 0, invalidPhones: [] as string[] };
  readonly messages: SimulatedZnsMessage[] = [];
  /** Every request seen: its tracking id and what it was answered. */
  readonly log: { tracking_id: string; outcome: 'sent' | 'failed' | 'refused' }[] = [];

  constructor(private readonly accessToken: string) {}

  handle(token: string | undefined, body: unknown): { status: number; body: unknown } {
    const tracking = typeof (body as { tracking_id?: unknown } | null)?.tracking_id === 'string' ? (body as { tracking_id: string }).tracking_id : '';
    if (this.behaviour.failNext > 0) {
      this.behaviour.failNext--;
      this.log.push({ tracking_id: tracking, outcome: 'failed' });
      return { status: 503, body: { error: -1, message: 'Service unavailable' } };
    }
    const refuse = (error: number, message: string) => {
      this.log.push({ tracking_id: tracking, outcome: 'refused' });
      return { status: 200, body: { error, message } };
    };
    if (token !== this.accessToken) return refuse(-124, 'Access token is invalid');
    const m = (body !== null && typeof body === 'object' ? body : {}) as { phone?: unknown; template_id?: unknown; template_data?: unknown };
    if (typeof m.phone !== 'string' || !/^84[0-9]{9}$/.test(m.phone) || this.behaviour.invalidPhones.includes(m.phone)) return refuse(-108, 'Phone number is invalid');
    const template = typeof m.template_id === 'string' ? SIMULATED_TEMPLATES[m.template_id] : undefined;
    if (!template) return refuse(-1123, 'Template is not approved');
    const data = (m.template_data ?? {}) as Record<string, unknown>;
    if (template.params.some((p) => typeof data[p] !== 'string' || (data[p] as string).length === 0)) return refuse(-1124, 'Template data is invalid');
    const msgId = randomBytes(10).toString('hex');
    this.messages.push({ msg_id: msgId, tracking_id: tracking, phone: m.phone, template_id: m.template_id as string, text: template.text(data as Record<string, string>) });
    this.log.push({ tracking_id: tracking, outcome: 'sent' });
    return { status: 200, body: { error: 0, message: 'Success', data: { msg_id: msgId, sent_time: String(Date.now()) } } };
  }
}

const BehaviourBody = z
  .object({
    fail_next: z.number().int().min(0).max(1000).default(0),
    invalid_phones: z.array(z.string().regex(/^84[0-9]{9}$/)).max(1000).default([]),
  })
  .strict();

export function zaloZnsSimulatorRoutes(sim: ZaloZnsSimulator): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/sim/zalo/message/template',
      auth: 'public',
      handler: async (req, res) => {
        const answer = sim.handle(req.header('access_token'), req.body);
        res.status(answer.status).json(answer.body);
      },
    },
    {
      method: 'put',
      path: '/sim/zalo/behaviour',
      auth: 'public',
      handler: async (req, res) => {
        const b = parseBody(BehaviourBody, req);
        sim.behaviour = { failNext: b.fail_next, invalidPhones: b.invalid_phones };
        res.json(b);
      },
    },
    {
      method: 'get',
      path: '/sim/zalo/messages',
      auth: 'public',
      handler: async (_req, res) => {
        res.json({ data: sim.messages, log: sim.log });
      },
    },
  ];
}
