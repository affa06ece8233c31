// The platform manifests of an index, which a registry may have lost while keeping the index and its
// tag (a delete by digest, a garbage collection, a mirror that copied only some platforms). A missing
// child is not the image's absence: it is an error naming the platform and the child's digest.
import { type ParsedManifest, platformManifests } from "../image/manifest.js";
import { MissingChildError, RegistryError } from "./errors.js";
import type { Manifests } from "./manifests.js";
import type { Target } from "./target.js";

export interface ChildRef {
  /** The index that lists the child. */
  index: string;
  platform: string;
  digest: string;
}

export class Children {
  constructor(private readonly manifests: Manifests) {}

  /** Checks that every platform manifest of an index is there (one HEAD each); an image passes. */
  async present(target: Target, top: ParsedManifest, index: string): Promise<void> {
    if (top.kind !== "index") return;
    const listed = [...platformManifests(top.index)];
    // Every HEAD is settled before an error is thrown: no request outlives the call that made it,
    // and the error names the first platform in the index's order, whichever answered first.
    const results = await Promise.allSettled(
      listed.map(async ([platform, descriptor]) => {
        const child = { ...target, reference: descriptor.digest };
        if (!(await this.manifests.exists(child, descriptor.digest))) {
          this.missing(target, { index, platform, digest: descriptor.digest });
        }
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
  }

  /** One platform manifest, fetched by digest and verified; missing → MissingChildError. */
  async fetch(target: Target, child: ChildRef): Promise<ParsedManifest> {
    try {
      return (await this.manifests.get(target, child.digest)).parsed;
    } catch (error) {
      if (error instanceof RegistryError && error.status === 404) this.missing(target, child);
      throw error;
    }
  }

  private missing(target: Target, child: ChildRef): never {
    throw new MissingChildError(target.text, child, `${target.host}/${target.repository}`);
  }
}
