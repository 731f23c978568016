import { BANK_ADAPTERS } from '../../integrations/banks';
import { isId } from '../../lib/ids';
import { type Notification, receiveBankNotifications } from './bank-events.service';
import type { PaymentDeps, Reply } from './payments.service';

export interface BankInboxOptions {
  /** Most notifications handled by one batch. */
  maxBatch: number;
  /** Batches in flight at once (each holds one database connection while it runs). */
  concurrency: number;
  /** While a batch runs, another starts only once this many notifications wait. */
  minForAnother: number;
}

/**
 * Group commit for bank notifications. Each request waits here until its notification is stored
 * and processed; notifications that arrive while a batch is running are taken together by the next
 * one, so under load the database sees a few set-based statements per batch instead of a dozen per
 * notification, and when traffic is light a notification is handled at once, alone. A second
 * batch may run beside the first once enough waits (so the database and this event loop work in
 * parallel, without splitting the load into batches too small to be worth their round trips;
 * measured in bench/README.md). A batch that
 * fails as a whole is retried one notification at a time, so one bad notification only fails
 * itself.
 */
export class BankInbox {
  private readonly waiting: { note: Notification; resolve: (r: Reply) => void; reject: (e: unknown) => void }[] = [];
  private running = 0;

  constructor(
    private readonly deps: PaymentDeps,
    private readonly options: BankInboxOptions = { maxBatch: 200, concurrency: 2, minForAnother: 20 },
  ) {}

  submit(note: Notification): Promise<Reply> {
    // An id that is no endpoint id names no endpoint: answered like an unknown one, and kept out of
    // the batch, whose endpoint lookup it would fail for everyone (PostgreSQL refuses a NUL byte).
    if (!isId('bep', note.endpointId)) {
      this.deps.logger.warn({ provider: note.provider, reason: 'unknown endpoint' }, 'bank notification rejected');
      return Promise.resolve(BANK_ADAPTERS[note.provider].respond('invalid_signature'));
    }
    return new Promise<Reply>((resolve, reject) => {
      this.waiting.push({ note, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    // An idle inbox starts a batch at once; a further batch only once enough is waiting to be worth
    // its own round trips (otherwise they wait for the running batch to finish and go together).
    while (this.running < this.options.concurrency && this.waiting.length > 0 && (this.running === 0 || this.waiting.length >= this.options.minForAnother)) {
      const batch = this.waiting.splice(0, this.options.maxBatch);
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(batch: typeof this.waiting): Promise<void> {
    try {
      const replies = await receiveBankNotifications(this.deps, batch.map((b) => b.note));
      batch.forEach((b, n) => b.resolve(replies[n]!));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      for (const b of batch) {
        try {
          const [reply] = await receiveBankNotifications(this.deps, [b.note]);
          b.resolve(reply!);
        } catch (one) {
          b.reject(one);
        }
      }
    }
  }
}
