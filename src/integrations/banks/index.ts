import type { BankAdapter, Outcome, Provider, SignedRequest, SimTransfer } from './bank-adapter';
import { cassoAdapter, signCasso } from './casso';
import { directAdapter, signDirect } from './direct';
import { sepayAdapter, signSepay } from './sepay';
import { signVnpay, vnpayAdapter } from './vnpay';

export type * from './bank-adapter';

/** The outcome each reply object was made for (counted in /metrics by provider and outcome; never sent). */
const OUTCOMES = new WeakMap<object, Outcome>();

/** What an adapter's reply said; undefined for a reply not made by an adapter (a stored reply returned to a replay). */
export function outcomeOf(reply: object): Outcome | undefined {
  return OUTCOMES.get(reply);
}

function withOutcome(adapter: BankAdapter): BankAdapter {
  return {
    ...adapter,
    respond: (outcome) => {
      const reply = adapter.respond(outcome);
      OUTCOMES.set(reply, outcome);
      return reply;
    },
  };
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
