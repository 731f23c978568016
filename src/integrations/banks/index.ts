import type { BankAdapter, Provider, SignedRequest, SimTransfer } from './bank-adapter';
import { cassoAdapter, signCasso } from './casso';
import { directAdapter, signDirect } from './direct';
import { sepayAdapter, signSepay } from './sepay';
import { signVnpay, vnpayAdapter } from './vnpay';

export type * from './bank-adapter';

/** Each reply names its outcome (counted in /metrics by provider and outcome; never sent). */
function withOutcome(adapter: BankAdapter): BankAdapter {
  return { ...adapter, respond: (outcome) => ({ ...adapter.respond(outcome), outcome }) };
}

export const BANK_ADAPTERS: Record<Provider, BankAdapter> = {
  sepay: withOutcome(sepayAdapter),
  casso: withOutcome(cassoAdapter),
  vnpay: withOutcome(vnpayAdapter),
  direct: withOutcome(directAdapter),
};

/** Signers that dress a transfer up as each provider would send it (bank simulator, tests). */
export const SIGNERS: Record<Provider, (t: SimTransfer, secret: string, now: Date) => SignedRequest> = {
  sepay: signSepay,
  casso: signCasso,
  vnpay: signVnpay,
  direct: signDirect,
};
