// Webhooks answered at once, work done after the answer. GitHub waits 10 s for an answer and a deploy
// queued behind its repository's lock can take longer, so a delivery is recorded in the pending-work
// ledger (handlers/ledger.ts), answered, and then run. Nothing is lost across a crash: the ledger keeps
// it until its work is finished or its failure is reported, and another replica (or this one, restarted)
// resumes it. A failure after the answer ends as a failed check run with the reason (handlers/failure.ts).
import type { Context } from "probot";
import type { PendingDelivery, PendingLedger } from "./ledger.js";
import { reportFailure } from "./failure.js";

export interface PendingLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export class PendingWork {
  /** Deliveries this process holds: queued behind their repository or running. */
  readonly #held = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly ledger: PendingLedger,
    readonly options: { leaseMs: number },
  ) {}

  /**
   * Records the delivery, starts `work` after the caller returns (Probot then answers 200), and resolves.
   * Throws only when the ledger refuses the record: the webhook is then answered 500 and GitHub shows it
   * as failed, for the missed-delivery recovery to deliver again.
   */
  async accept(context: Context, work: () => Promise<void>): Promise<void> {
    const id = context.id;
    if (this.#held.has(id)) {
      context.log.info({ delivery: id }, "delivery already accepted here");
      return;
    }
    let begin!: () => void;
    const accepted = new Promise<void>((r) => (begin = r));
    this.#held.set(
      id,
      accepted.then(() => this.#run(context, work)).finally(() => this.#held.delete(id)),
    );
    try {
      await this.ledger.record({ id, name: context.name, payload: context.payload });
    } catch (error) {
      this.#held.delete(id);
      throw error;
    }
    // After the answer: Probot writes it when this returns, before the next macrotask.
    setImmediate(begin);
  }

  async #run(context: Context, work: () => Promise<void>): Promise<void> {
    const id = context.id;
    try {
      await work();
    } catch (error) {
      context.log.error({ delivery: id, event: context.name, err: error }, "work after the answer failed");
      try {
        if (!(await reportFailure(context, error)))
          context.log.error({ delivery: id, event: context.name }, "the event names no commit to report on");
      } catch (reportError) {
        // Left pending: the lease runs out and a replica tries the delivery again (bounded attempts).
        context.log.error(
          { delivery: id, err: reportError },
          "failure not reported; the delivery stays pending",
        );
        return;
      }
    }
    try {
      await this.ledger.finish(id);
    } catch (error) {
      // Done work resumed later is found done (idempotent handlers): a warning, not a failure.
      context.log.warn({ delivery: id, err: error }, "finished delivery not removed from the ledger");
    }
  }

  /**
   * Keeps this process's holds alive and resumes deliveries whose holder died, every third of a lease;
   * the first sweep runs at once. `receive` runs a delivery as if it had just arrived (Probot's receive).
   */
  start(receive: (delivery: PendingDelivery) => Promise<void>, log: PendingLog): void {
    let sweeping = false;
    const sweep = async () => {
      if (sweeping) return;
      sweeping = true;
      try {
        await this.ledger.renew([...this.#held.keys()]);
        const { claimed, dropped, unreadable } = await this.ledger.claimOrphans(25);
        for (const id of dropped)
          log.error({ delivery: id }, "pending delivery dropped after repeated attempts");
        for (const { id, problem } of unreadable)
          log.error(
            { delivery: id, problem },
            "pending delivery dropped: its ledger entry cannot be read, so it cannot be run again (redeliver it from the App's settings if its work is missing)",
          );
        for (const delivery of claimed) {
          if (this.#held.has(delivery.id)) continue;
          log.info({ delivery: delivery.id, event: delivery.name }, "resuming a pending delivery");
          await receive(delivery).catch((error: unknown) =>
            log.error({ delivery: delivery.id, err: error }, "pending delivery not resumed"),
          );
        }
      } catch (error) {
        log.warn({ err: error }, "pending-work sweep failed; the next one tries again");
      } finally {
        sweeping = false;
      }
    };
    void sweep();
    this.#timer = setInterval(() => void sweep(), Math.max(250, this.options.leaseMs / 3)).unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /** Resolves once every delivery held now has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#held.size > 0) await Promise.allSettled([...this.#held.values()]);
  }
}
