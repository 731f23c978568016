import type { Knex } from 'knex';
import type { Benchmark } from './harness';
import { stopRequestedReceiptIssuing } from '../src/modules/receipts/receipt-issuing.service';
import type { Logger } from 'pino';
import { systemClock } from '../src/lib/clock';
import { loadPrincipal } from '../src/modules/access/access.service';
import { executeInvoiceRun, issueRunInvoices, startInvoiceRun } from '../src/modules/invoices/invoices.service';
import { issuePendingReceipts } from '../src/modules/receipts/receipt-issuing.service';
import { signContent } from '../src/modules/receipts/receipt-signing';
import { renderReceiptPdf } from '../src/modules/receipts/receipts.pdf';
import type { ReceiptContent } from '../src/modules/receipts/receipts.repository';
import { DEMO_ACCOUNTANTS } from '../seeds/demo-data';

/**
 * Receipts on the seeded demo data (six schools, 2,376 students): a month's invoices are issued
 * for every school and each is paid by a manual payment written set-based (payment, allocation);
 * then four sweepers issue the receipts at once (numbers, content, Ed25519 signature, outbox row)
 * -> `receipts_per_s`. Then receipts are signed and rendered to PDF one after another, for
 * BENCH_SECONDS / 2 seconds -> `pdfs_per_s`.
 */
export async function benchReceipts(db: Knex, logger: Logger, seconds = Number(process.env.BENCH_SECONDS ?? 30)): Promise<Record<string, number | string>> {
  for (const a of DEMO_ACCOUNTANTS) {
    const principal = await loadPrincipal(db, a.personalId);
    const schoolId = principal.staff[0]!.schoolId;
    const ctx = { db, clock: systemClock, principal };
    const run = await startInvoiceRun(ctx, schoolId, { kind: 'month', month: '2026-11' });
    await executeInvoiceRun(db, systemClock, schoolId, run.id);
    await issueRunInvoices(ctx, schoolId, run.id);
  }
  const recorder = await db('people').first<{ id: string }>('id');
  await db.raw(
    `WITH p AS (
       INSERT INTO payments (school_id, provider, person_id, payment_code, amount_vnd, status, occurred_at, recorded_at, recorded_by, reason)
       SELECT school_id, 'manual', person_id, payment_code, total_vnd, 'attributed', now(), now(), ?, 'bench' FROM invoices WHERE status = 'open' AND total_vnd > 0
       RETURNING school_id, id, payment_code, amount_vnd)
     INSERT INTO allocations (school_id, invoice_id, payment_id, source, amount_vnd, created_at)
     SELECT p.school_id, i.id, p.id, 'payment', p.amount_vnd, now() FROM p JOIN invoices i ON i.school_id = p.school_id AND i.payment_code = p.payment_code`,
    [recorder.id],
  );
  await db.raw('ANALYZE');
  const payments = Number((await db('payments').count<{ c: string }[]>('* as c'))[0]!.c);
  console.log(`receipts: ${payments} payments to receipt in 6 schools`);

  const t0 = performance.now();
  await Promise.all(Array.from({ length: 4 }, () => issuePendingReceipts({ db, clock: systemClock, logger })));
  const issueSeconds = (performance.now() - t0) / 1000;
  const issued = Number((await db('receipts').count<{ c: string }[]>('* as c'))[0]!.c);
  const receiptsPerS = Math.round(issued / issueSeconds);
  console.log(`receipts: ${issued} issued by 4 concurrent sweepers in ${issueSeconds.toFixed(2)} s = ${receiptsPerS}/s`);

  const rows = await db('receipts').limit(500).select<{ content: ReceiptContent; lookup_code: string }[]>('content', 'lookup_code');
  const key = await db('receipt_signing_keys').first<{ private_key_pem: string }>('private_key_pem');
  await renderReceiptPdf({ content: rows[0]!.content, signature: 'warm-up', lookupUrl: 'http://localhost:3000/receipts/x', cancelled: false });
  let pdfs = 0;
  let bytes = 0;
  const until = performance.now() + (seconds / 2) * 1000;
  const t1 = performance.now();
  while (performance.now() < until) {
    const r = rows[pdfs % rows.length]!;
    const signature = signContent(r.content, key.private_key_pem);
    bytes += (await renderReceiptPdf({ content: r.content, signature, lookupUrl: `http://localhost:3000/receipts/${r.lookup_code}`, cancelled: false })).length;
    pdfs++;
  }
  const pdfSeconds = (performance.now() - t1) / 1000;
  const pdfsPerS = Math.round(pdfs / pdfSeconds);
  console.log(`receipts: ${pdfs} PDFs signed and rendered in ${pdfSeconds.toFixed(1)} s = ${pdfsPerS}/s, ${Math.round(bytes / pdfs / 1024)} KiB each`);
  return { bench: 'receipts', receipts_issued: issued, receipts_per_s: receiptsPerS, pdfs_per_s: pdfsPerS, pdf_kib: Math.round(bytes / pdfs / 1024) };
}

/** Issuing is a write path: compared with pgbench TPS through `receipts_per_s`. */
export const benchmark: Benchmark = {
  name: 'receipts',
  kind: 'write',
  rate: 'receipts_per_s',
  run: async (ctx) => {
    try {
      return await benchReceipts(ctx.db, ctx.logger, ctx.seconds);
    } finally {
      // Sweeps the payment paths requested must end before the harness closes the pool.
      await stopRequestedReceiptIssuing(ctx.db);
    }
  },
};
