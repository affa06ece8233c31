// A service whose tag's digest differs from its pin: before anything is written from it, the digest is
// proven by bytes (one GET, its sha256 checked against the registry's claim), and with `compare:
// content` the new image is compared with the pinned one by the one "same image?" decision: the same
// config digest on every platform is a re-encoding (gzip header, compression level, manifest fields),
// which keeps the pin. The common case (digest equals the pin) never comes here: 1 HEAD stays 1 HEAD.
import { type ImageIdentity, sameImage } from "../image/manifest.js";
import { MissingChildError } from "../registry/errors.js";

/** The registry calls this step needs (src/registry's client has them). */
export interface ProvingRegistry {
  /** One GET of `ref`; throws when its bytes do not hash to `claimed`. With `configs`, per platform. */
  prove(ref: string, claimed: string, options?: { configs?: boolean }): Promise<ImageIdentity>;
  /** The pinned image's digest and configs (by digest: cached, content-addressed). */
  identity(ref: string): Promise<ImageIdentity>;
}

export type MoveOutcome =
  /**
   * A real move to a proven digest; `note` says why a re-encoding could not keep the pin, `pinGone`
   * that the pinned manifest is no longer in the registry.
   */
  | { kind: "moved"; digest: string; note?: string; pinGone?: true }
  /** Same content as the pin: keep the pin, retag the pinned image. */
  | { kind: "reencoded"; digest: string; pinned: string; reason: string };

const isNotFound = (error: unknown) => (error as { status?: unknown }).status === 404;

export async function proveMove(
  registry: ProvingRegistry,
  input: {
    image: string;
    ref: string;
    claimed: string;
    pinned: string | null;
    compare: "content" | "manifest";
  },
): Promise<MoveOutcome> {
  const { image, ref, claimed, pinned } = input;
  const content = input.compare === "content" && pinned !== null;
  const proven = await registry.prove(ref, claimed, { configs: content });
  if (!content || pinned === null) return { kind: "moved", digest: proven.digest! };
  let deployed: ImageIdentity;
  try {
    deployed = await registry.identity(`${image}@${pinned}`);
  } catch (error) {
    if (error instanceof MissingChildError) {
      // The pin is broken on a platform: the new build replaces it rather than being compared with it.
      const { platform, digest } = error.missing;
      return {
        kind: "moved",
        digest: proven.digest!,
        pinGone: true,
        note: `the pinned ${pinned} lists ${digest} for ${platform}, which the registry no longer has (the cluster cannot pull it there): pinned the new digest without comparing content`,
      };
    }
    if (!isNotFound(error)) throw error;
    // Nothing to retag and nothing to keep running from: pin the new digest.
    return {
      kind: "moved",
      digest: proven.digest!,
      pinGone: true,
      note: `the pinned ${pinned} is no longer in the registry: pinned the new digest although it may hold the same content`,
    };
  }
  const same = sameImage(deployed, proven, { a: "the pinned image", b: "the new image" });
  if (same.same && same.by === "content") {
    return { kind: "reencoded", digest: proven.digest!, pinned, reason: same.reason };
  }
  return { kind: "moved", digest: proven.digest! };
}
