// A Scheduler for tests: virtual time that jumps forward on every sleep (no real waiting beyond one
// event-loop turn), a record of the waits, and a way to await detached work.
import type { Scheduler } from "../../src/nomad/follow.js";

export interface FakeScheduler extends Scheduler {
  /** Every sleep asked for, in ms, in order. */
  sleeps(): number[];
  /** Resolves when every detached piece of work has finished. */
  idle(): Promise<void>;
}

export function fakeScheduler(): FakeScheduler {
  let clock = 1_000_000;
  const sleeps: number[] = [];
  const running: Array<Promise<void>> = [];
  return {
    now: () => clock,
    async sleep(ms) {
      sleeps.push(ms);
      clock += ms;
      // One macrotask turn, so other work (HTTP answers) interleaves as it would with real timers.
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
    detach(work) {
      running.push(new Promise<void>((resolve) => setImmediate(resolve)).then(work));
    },
    sleeps: () => sleeps.slice(),
    async idle() {
      while (running.length > 0) await running.shift();
    },
  };
}
