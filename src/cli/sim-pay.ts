import { parseArgs } from 'node:util';
import { loadConfig } from '../config';

/**
 * `npm run sim:pay -- --code <payment code> --amount <vnd> [--provider sepay|casso|vnpay|direct] [--no-callback]`:
 * plays a parent paying against the running service (development): the simulated bank books the
 * transfer in its own statement and sends the provider's signed notification to the service, or,
 * with --no-callback, loses it (the nightly reconciliation then finds the money on the statement).
 * The service is at PUBLIC_BASE_URL (default http://localhost:PORT), or --base-url.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      code: { type: 'string' },
      amount: { type: 'string' },
      provider: { type: 'string', default: 'sepay' },
      description: { type: 'string' },
      'no-callback': { type: 'boolean', default: false },
      'base-url': { type: 'string' },
    },
  });
  const amount = Number(values.amount);
  if (!values.code || !Number.isSafeInteger(amount) || amount <= 0) {
    console.error('usage: npm run sim:pay -- --code <payment code> --amount <whole dong> [--provider sepay|casso|vnpay|direct] [--no-callback] [--base-url http://localhost:3000]');
    process.exit(2);
  }
  const base = (values['base-url'] ?? loadConfig().publicBaseUrl).replace(/\/$/, '');
  const res = await fetch(`${base}/sim/bank/transfers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ provider: values.provider, payment_code: values.code, amount_vnd: amount, callback: !values['no-callback'], ...(values.description ? { description: values.description } : {}) }),
  });
  const body = await res.text();
  console.log(`${res.status} ${body}`);
  if (!res.ok) process.exit(1);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
