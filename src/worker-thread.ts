// A worker thread that answers questions one at a time, for the engines' CPU-heavy work (HashiCorp's
// parser, sigstore-js's signature check) so that the plan's own thread keeps answering the registry.
// The thread runs evaluated CommonJS code that defines `answer(question)` (its modules given as files
// in `workerData`, resolved by the caller). It holds the process open only while an answer is awaited.
// When it cannot start, fails or exits, every question pending or asked later gets undefined: the
// caller then does the work in its own thread.
import { Worker } from "node:worker_threads";

export interface AnsweringThread<Q, A> {
  /**
   * The thread's answer, or undefined when it is gone. Throws at once when `question` cannot be sent
   * to a thread (a value structured cloning refuses), before anything is asked.
   */
  ask(question: Q): Promise<A | undefined>;
  /** Whether the thread has run its code (loaded what it answers with) and is still there. */
  ready(): boolean;
  /** Settles when the thread has run its code (true) or is gone before that (false). */
  loaded: Promise<boolean>;
  /** Ends the thread; what is pending or asked later gets undefined. */
  stop(): void;
}

/** Starts the thread; undefined when none can start. `code` defines `answer(question)`. */
export function startAnsweringThread<Q, A>(
  code: string,
  workerData: unknown,
): AnsweringThread<Q, A> | undefined {
  const source = `
const { parentPort, workerData } = require("node:worker_threads");
${code}
parentPort.postMessage({ ready: true });
parentPort.on("message", ({ id, question }) => parentPort.postMessage({ id, answer: answer(question) }));
`;
  let worker: Worker;
  try {
    worker = new Worker(source, { eval: true, workerData });
  } catch {
    return undefined;
  }
  const pending = new Map<number, (answer: A | undefined) => void>();
  let next = 0;
  let alive = true;
  let ready = false;
  let settleLoaded: (loaded: boolean) => void = () => {};
  const loaded = new Promise<boolean>((resolve) => (settleLoaded = resolve));
  const stop = () => {
    alive = false;
    settleLoaded(false);
    for (const settle of pending.values()) settle(undefined);
    pending.clear();
  };
  worker.on("message", (message: { id: number; answer: A } | { ready: true }) => {
    if ("ready" in message) {
      ready = true;
      settleLoaded(true);
      return;
    }
    const settle = pending.get(message.id);
    pending.delete(message.id);
    settle?.(message.answer);
  });
  worker.on("error", stop);
  worker.on("exit", stop);
  // After the listeners: adding a "message" listener refs the thread's port again.
  worker.unref();
  return {
    ask(question) {
      if (!alive) return Promise.resolve(undefined);
      const id = next++;
      worker.postMessage({ id, question });
      // Only while an answer is awaited does the thread hold the process open.
      if (pending.size === 0) worker.ref();
      return new Promise((resolve) => {
        pending.set(id, (answer) => {
          if (pending.size === 0) worker.unref();
          resolve(answer);
        });
      });
    },
    ready: () => alive && ready,
    loaded,
    stop() {
      if (!alive) return;
      stop();
      void worker.terminate();
    },
  };
}
