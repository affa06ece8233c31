// The attestations GitHub stores for a digest (`actions/attest-build-provenance` writes them there):
// GET /repos/{owner}/{repo}/attestations/{subject_digest}, paged by cursor. The core's AttestationsPort
// over GitHub's API.
import { z } from "zod";
import type { AttestationsPort, ProvenanceOptions } from "../core/provenance.js";
import { type BundleRegistry, registryBundles } from "../registry/referrers.js";
import { statusOf } from "./errors.js";
import type { Octokit, RepoCoords } from "./types.js";

const ROUTE = "GET /repos/{owner}/{repo}/attestations/{subject_digest}";
const MAX_PAGES = 10;
const pageSchema = z.object({
  attestations: z.array(z.object({ bundle: z.unknown().optional() })),
});

/** The `after` cursor of the Link header's next page; the relative route is called again with it. */
function nextCursor(link: string | undefined): string | undefined {
  const next = link?.split(",").find((part) => /rel="next"/.test(part));
  const url = next?.match(/<([^>]+)>/)?.[1];
  return url ? (new URL(url).searchParams.get("after") ?? undefined) : undefined;
}

export class AttestationsAccessError extends Error {}

/** Every Sigstore bundle GitHub holds for `digest` in the repository (none: an empty list). */
export async function listAttestations(
  octokit: Octokit,
  coords: RepoCoords,
  digest: string,
): Promise<unknown[]> {
  const bundles: unknown[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    let response;
    try {
      response = await octokit.request(ROUTE, {
        ...coords,
        subject_digest: digest,
        per_page: 100,
        ...(after ? { after } : {}),
      });
    } catch (error) {
      const status = statusOf(error);
      if (status === 404) return bundles; // GitHub's answer when no attestation names the digest
      if (status === 403 || status === 401) {
        throw new AttestationsAccessError(
          `GitHub refused to list attestations (${status}): the App or token needs the \`attestations: read\` permission on ${coords.owner}/${coords.repo}`,
        );
      }
      throw error;
    }
    const parsed = pageSchema.safeParse(response.data);
    if (!parsed.success)
      throw new Error(`GitHub's attestations answer for ${digest} is not the documented shape`);
    for (const a of parsed.data.attestations) if (a.bundle != null) bundles.push(a.bundle);
    after = nextCursor(response.headers.link);
    if (after === undefined) return bundles;
  }
  return bundles;
}

export function githubAttestations(
  octokit: Octokit,
  coords: RepoCoords,
  registry?: BundleRegistry,
): AttestationsPort {
  return {
    bundles: async (image, digest) => {
      const [stored, attached] = await Promise.all([
        listAttestations(octokit, coords, digest),
        registry ? registryBundles(registry, image, digest) : [],
      ]);
      return [...stored, ...attached];
    },
  };
}

/** What runDeploy needs to check provenance against this repository through GitHub's API (and the registry). */
export function githubProvenance(
  octokit: Octokit,
  coords: RepoCoords,
  repositoryId: string | undefined,
  registry?: BundleRegistry,
): ProvenanceOptions {
  return {
    port: githubAttestations(octokit, coords, registry),
    repository: `${coords.owner}/${coords.repo}`,
    ...(repositoryId ? { repositoryId } : {}),
  };
}
