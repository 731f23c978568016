import { z } from 'zod';
import { principalOf } from '../../http/auth';
import type { RouteDef } from '../../http/routes';
import { parseBody } from '../../http/validate';
import type { AppDeps } from '../../app';

/**
 * A person's phone for notifications (overdue reminders go to a verified guardian's phone over
 * Zalo ZNS). Each person sets their own; it is cross-school and never shown to anyone else.
 * Accepted as 0xxxxxxxxx, 84xxxxxxxxx or +84xxxxxxxxx (a Vietnamese mobile), stored as 84xxxxxxxxx.
 */
const PhoneBody = z
  .object({
    phone: z
      .string()
      .max(20)
      .transform((p) => p.replace(/[\s.-]/g, ''))
      .refine((p) => /^(?:0|84|\+84)[35789][0-9]{8}$/.test(p), 'must be a Vietnamese mobile number, e.g. 0912345678')
      .transform((p) => `84${p.replace(/^(?:\+84|84|0)/, '')}`),
  })
  .strict();

type ContactRow = { phone: string; updated_at: Date };
const renderContact = (row: ContactRow | undefined) => ({ phone: row?.phone ?? null, updated_at: row ? new Date(row.updated_at).toISOString() : null });

export function reminderRoutes(deps: AppDeps): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/v1/me/contact',
      auth: 'user',
      handler: async (_req, res) => {
        res.json(renderContact(await deps.db('person_contacts').where({ person_id: principalOf(res).personId }).first<ContactRow>('phone', 'updated_at')));
      },
    },
    {
      method: 'put',
      path: '/v1/me/contact',
      auth: 'user',
      handler: async (req, res) => {
        const { phone } = parseBody(PhoneBody, req);
        const [row] = await deps.db('person_contacts')
          .insert({ person_id: principalOf(res).personId, phone, updated_at: deps.clock.now() })
          .onConflict('person_id')
          .merge(['phone', 'updated_at'])
          .returning<ContactRow[]>(['phone', 'updated_at']);
        res.json(renderContact(row));
      },
    },
  ];
}
