/**
 * The port through which the service notifies families (overdue reminders), and its adapter for
 * Zalo's ZNS (Zalo Notification Service: template messages to a phone number's Zalo account).
 *
 * Wire format simulated (modelled on ZNS's "send a template message" call):
 *
 *   POST {ZALO_ZNS_URL}/message/template
 *   access_token: <the Official Account's token>
 *   Content-Type: application/json
 *   { "phone": "84912345678", "template_id": "overdue_reminder_v1",
 *     "template_data": { "student_name": "...", "school_name": "...", "invoice_number": "...",
 *                        "period": "...", "amount_due": "1.250.000", "due_date": "15/11/2026",
 *                        "days_overdue": "12", "payment_code": "..." },
 *     "tracking_id": "rmm_..." }
 *
 *   200 { "error": 0, "message": "Success", "data": { "msg_id": "...", "sent_time": "<epoch ms>" } }
 *   200 { "error": -108, "message": "Phone number is invalid" }   and other negative codes
 *
 * The template itself (its Vietnamese text) is registered with Zalo beforehand; the service sends
 * only its parameters. A negative `error` in PERMANENT_ERRORS (bad phone, not a Zalo user, template
 * refused) is final; any other answer (another error code, a non-200, no answer in time) is a
 * transport failure and is retried. The tracking_id is the message's own id: a retry after a lost
 * answer carries the same one.
 */
export const OVERDUE_TEMPLATE_ID = 'overdue_reminder_v1';
/** The token the simulator accepts unless configured otherwise (ZALO_ZNS_ACCESS_TOKEN). */
export const DEV_ZNS_ACCESS_TOKEN = 'dev-only-zalo-zns-access-token';

export interface TemplateMessage {
  phone: string;
  templateId: string;
  templateData: Record<string, string>;
  trackingId: string;
}

export class NotificationError extends Error {
  constructor(
    /** True when sending again cannot succeed (bad phone, no Zalo account, template refused). */
    readonly permanent: boolean,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Notifier {
  /** Sends one message; resolves with the provider's message id, throws NotificationError. */
  send(message: TemplateMessage, timeoutMs: number): Promise<{ messageId: string }>;
}

/** The codes (as the simulator answers them) no retry can fix: -108 invalid phone, -118 no Zalo account on that phone, -119 the user cannot receive ZNS. */
export const PERMANENT_ERRORS = new Set([-108, -118, -119]);

export function createZnsClient(settings: { baseUrl: string; accessToken: string }): Notifier {
  return {
    send: async (m, timeoutMs) => {
      let res: Response;
      try {
        res = await fetch(`${settings.baseUrl}/message/template`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', access_token: settings.accessToken },
          body: JSON.stringify({ phone: m.phone, template_id: m.templateId, template_data: m.templateData, tracking_id: m.trackingId }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        throw new NotificationError(false, 'NO_ANSWER', err instanceof Error ? err.message : String(err));
      }
      const text = await res.text().catch(() => '');
      if (res.status !== 200) throw new NotificationError(false, `HTTP_${res.status}`, text.slice(0, 200));
      let body: { error?: unknown; message?: unknown; data?: { msg_id?: unknown } };
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        throw new NotificationError(false, 'UNREADABLE', text.slice(0, 200));
      }
      if (body.error === 0 && typeof body.data?.msg_id === 'string') return { messageId: body.data.msg_id };
      const code = typeof body.error === 'number' ? body.error : NaN;
      throw new NotificationError(PERMANENT_ERRORS.has(code), `ZNS_${String(body.error)}`, String(body.message ?? 'unexpected answer'));
    },
  };
}
