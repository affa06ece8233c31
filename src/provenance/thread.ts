// The signature check (sigstore-js's Verifier: chain building, timestamps, log entries) in a worker
// thread. It is most of a bundle's CPU cost (10–15 ms each), and a plan verifies its moved services
// while it is still reading 500 tags: on the plan's own thread that work delays every response behind
// it. Only the cryptography moves; what the bundle and certificate say is still read here, by the same
// code, and a verdict never depends on where the signature was checked. Where no thread can be started
// or sigstore-js is not a file to load (the Action's bundle), or when the thread fails, the caller
// checks in its own thread, as without this module.
import { createRequire } from "node:module";
import { startAnsweringThread, type AnsweringThread } from "../worker-thread.js";
import type { TrustRoot } from "./roots.js";

const require = createRequire(import.meta.url);

/** The thread's code: builds each root's trust material once (sent with its first bundle), checks each bundle. */
const SIGNATURE_CODE = `
const { bundleFromJSON } = require(workerData.bundle);
const { Verifier, toSignedEntity, toTrustMaterial } = require(workerData.verify);
const { TrustedRoot } = require(workerData.specs);
const materials = new Map();
function answer({ bundle, root, rootJson, thresholds }) {
  try {
    if (rootJson !== undefined) materials.set(root, toTrustMaterial(TrustedRoot.fromJSON(rootJson)));
    new Verifier(materials.get(root), thresholds).verify(toSignedEntity(bundleFromJSON(bundle)));
    return { ok: true };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}
`;

/** `ok: false` carries sigstore-js's own message, as the check in this thread would throw it. */
export type SignatureAnswer = { ok: true } | { ok: false; message: string };

export type Thresholds = { tlogThreshold: number; ctlogThreshold: number; timestampThreshold: number };

type Question = { bundle: unknown; root: number; rootJson?: unknown; thresholds: Thresholds };

interface SignatureThread {
  /** undefined: the thread is gone; the caller checks in its own thread instead. */
  check(bundle: unknown, root: TrustRoot, thresholds: Thresholds): Promise<SignatureAnswer | undefined>;
}

let thread: SignatureThread | undefined;
let unavailable = false;

/** The signature-checking thread, started on first use; undefined where none can run. */
export function signatureThread(): SignatureThread | undefined {
  if (thread || unavailable) return thread;
  let worker: AnsweringThread<Question, SignatureAnswer> | undefined;
  try {
    worker = startAnsweringThread<Question, SignatureAnswer>(SIGNATURE_CODE, {
      bundle: require.resolve("@sigstore/bundle"),
      verify: require.resolve("@sigstore/verify"),
      specs: require.resolve("@sigstore/protobuf-specs"),
    });
  } catch {
    worker = undefined;
  }
  if (worker === undefined) {
    unavailable = true;
    return undefined;
  }
  const ask = worker.ask.bind(worker);
  // Each root's trust material is sent once; the thread keeps it under this number.
  const sent = new WeakMap<TrustRoot, number>();
  let roots = 0;
  thread = {
    check(bundle, root, thresholds) {
      const known = sent.get(root);
      const key = known ?? roots;
      let answer: Promise<SignatureAnswer | undefined>;
      try {
        answer = ask({
          bundle,
          root: key,
          rootJson: known === undefined ? root.json : undefined,
          thresholds,
        });
      } catch {
        // A bundle that cannot be cloned: the caller checks it in its own thread.
        return Promise.resolve(undefined);
      }
      if (known === undefined) sent.set(root, roots++);
      return answer;
    },
  };
  return thread;
}
