// The signature check (sigstore-js's Verifier: chain building, timestamps, log entries) in a worker
// thread. It is most of a bundle's CPU cost (10–15 ms each), and a plan verifies its moved services
// while it is still reading 500 tags: on the plan's own thread that work delays every response behind
// it. Only the cryptography moves; what the bundle and certificate say is still read here, by the same
// code, and a verdict never depends on where the signature was checked. Where no thread can be started
// or sigstore-js is not a file to load (the Action's bundle), or when the thread fails, the caller
// checks in its own thread, as without this module.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { TrustRoot } from "./roots.js";

const require = createRequire(import.meta.url);

/** The worker's code (CommonJS, evaluated): builds each root's trust material once, checks each bundle. */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { bundleFromJSON } = require(workerData.bundle);
const { Verifier, toSignedEntity, toTrustMaterial } = require(workerData.verify);
const { TrustedRoot } = require(workerData.specs);
const materials = new Map();
parentPort.on("message", ({ id, bundle, root, rootJson, thresholds }) => {
  try {
    if (rootJson !== undefined) materials.set(root, toTrustMaterial(TrustedRoot.fromJSON(rootJson)));
    new Verifier(materials.get(root), thresholds).verify(toSignedEntity(bundleFromJSON(bundle)));
    parentPort.postMessage({ id, ok: true });
  } catch (err) {
    parentPort.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
  }
});
`;

/** `ok: false` carries sigstore-js's own message, as the check in this thread would throw it. */
export type SignatureAnswer = { ok: true } | { ok: false; message: string };

export type Thresholds = { tlogThreshold: number; ctlogThreshold: number; timestampThreshold: number };

interface SignatureThread {
  /** undefined: the thread is gone; the caller checks in its own thread instead. */
  check(bundle: unknown, root: TrustRoot, thresholds: Thresholds): Promise<SignatureAnswer | undefined>;
}

let thread: SignatureThread | undefined;
let unavailable = false;

/** The signature-checking thread, started on first use; undefined where none can run. */
export function signatureThread(): SignatureThread | undefined {
  if (thread || unavailable) return thread;
  let paths: { bundle: string; verify: string; specs: string };
  try {
    paths = {
      bundle: require.resolve("@sigstore/bundle"),
      verify: require.resolve("@sigstore/verify"),
      specs: require.resolve("@sigstore/protobuf-specs"),
    };
  } catch {
    unavailable = true;
    return undefined;
  }
  let worker: Worker;
  try {
    worker = new Worker(WORKER, { eval: true, workerData: paths });
  } catch {
    unavailable = true;
    return undefined;
  }
  const pending = new Map<number, (answer: SignatureAnswer | undefined) => void>();
  // Each root's trust material is sent once; the thread keeps it under this number.
  const sent = new WeakMap<TrustRoot, number>();
  let roots = 0;
  let next = 0;
  let alive = true;
  const stop = () => {
    alive = false;
    for (const settle of pending.values()) settle(undefined);
    pending.clear();
  };
  worker.on("message", (message: { id: number } & Partial<{ ok: boolean; message: string }>) => {
    const settle = pending.get(message.id);
    pending.delete(message.id);
    settle?.(message.ok ? { ok: true } : { ok: false, message: String(message.message) });
  });
  worker.on("error", stop);
  worker.on("exit", stop);
  // After the listeners: adding a "message" listener refs the thread's port again.
  worker.unref();
  thread = {
    check(bundle, root, thresholds) {
      if (!alive) return Promise.resolve(undefined);
      const id = next++;
      const known = sent.get(root);
      const key = known ?? roots;
      const rootJson = known === undefined ? root.json : undefined;
      // Only while an answer is awaited does the thread hold the process open.
      if (pending.size === 0) worker.ref();
      return new Promise((resolve) => {
        pending.set(id, (answer) => {
          if (pending.size === 0) worker.unref();
          resolve(answer);
        });
        try {
          worker.postMessage({ id, bundle, root: key, rootJson, thresholds });
          if (known === undefined) sent.set(root, roots++);
        } catch {
          // A bundle that cannot be cloned: the caller checks it in its own thread.
          pending.delete(id);
          if (pending.size === 0) worker.unref();
          resolve(undefined);
        }
      });
    },
  };
  return thread;
}
