// A repository that requires provenance, built twice, for the end-to-end tests of the App and the Action:
// the real build of commit `sha` (images.yml on main, push) pushes `<service>:<sha>` and attests it, for
// real, with the test Sigstore instance (GitHub's attestations API for `api`, `push-to-registry` beside
// the image for `web`); then a pull request's build pushes the same tag name for `worker` (another digest,
// no attestation of it) and for `cache` (attested, but by a `pull_request` build of refs/pull/7/merge).
// The trusted root is the test instance's, named by `provenance.trusted_root`.
import type { GitHubStandIn } from "./github-api/index.js";
import { pushTestImage } from "./oci.js";
import { pushReferrers } from "./referrers.js";
import type { TestRegistry } from "./registry.js";
import { type TestInstance, signBundle } from "./sigstore.js";
import { configText, image, jobFile } from "../app/scenario.js";

export const SERVICES = ["api", "web", "worker", "cache"] as const;
export const TRUSTED_ROOT = ".github/sigstore-root.json";

export interface AttestedBuild {
  fullName: string;
  /** The build commit. */
  sha: string;
  /** What `<service>:<sha>` points to when the bot runs. */
  tagged: Record<(typeof SERVICES)[number], string>;
  /** The real build's digests (for worker and cache, overwritten by the PR build). */
  built: Record<(typeof SERVICES)[number], string>;
  /** The job file of a service as the repository has it before the deploy. */
  jobFiles: Record<string, string>;
}

/** The certificate fields of a build of `repo` at `ref` by images.yml, started by `trigger`. */
function claims(api: GitHubStandIn, fullName: string, sha: string, ref: string, trigger: string) {
  const workflow = `https://github.com/${fullName}/.github/workflows/images.yml@${ref}`;
  return {
    san: workflow,
    "8": "https://token.actions.githubusercontent.com",
    "9": workflow,
    "11": "github-hosted",
    "12": `https://github.com/${fullName}`,
    "13": sha,
    "14": ref,
    "15": String(api.repo(fullName).id),
    "18": workflow,
    "20": trigger,
    "21": `https://github.com/${fullName}/actions/runs/${trigger === "push" ? 42 : 43}/attempts/1`,
  };
}

function statement(host: string, fullName: string, service: string, digest: string) {
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: `${host}/${fullName}/${service}`, digest: { sha256: digest.slice("sha256:".length) } }],
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: { buildDefinition: { buildType: "https://actions.github.io/buildtypes/workflow/v1" } },
  };
}

export async function attestedBuild(
  api: GitHubStandIn,
  registry: TestRegistry,
  instance: TestInstance,
  /** The GitHub repository (default owner `acme`; the images are `acme/<service>` whatever the owner). */
  repo: { owner?: string; name: string },
): Promise<AttestedBuild> {
  const owner = "acme";
  const fullName = `${repo.owner ?? owner}/${repo.name}`;
  const host = registry.host;
  const { sha: first } = api.createRepo({
    owner: repo.owner ?? owner,
    name: repo.name,
    files: { "README.md": `# ${fullName}\n` },
  });
  const push = (service: string, tag: string, version: number) =>
    pushTestImage(registry.directHost, `${owner}/${service}`, tag, image(service, version));
  const jobFiles: Record<string, string> = {};
  for (const s of SERVICES)
    jobFiles[`nomad/${s}.nomad.hcl`] = jobFile(host, s, `${first}@${await push(s, first, 1)}`);
  api.pushCommit(
    fullName,
    "main",
    {
      ".github/nomad-gitops.yml": configText(
        host,
        [...SERVICES],
        `provenance: { trusted_root: ${TRUSTED_ROOT} }\nrelease_notes: { file: false }\n`,
      ),
      [TRUSTED_ROOT]: instance.trustedRoot,
      ...jobFiles,
    },
    "Require provenance",
  );
  const sha = api.pushCommit(
    fullName,
    "main",
    Object.fromEntries(SERVICES.map((s) => [`services/${s}/main.go`, "// v2\n"])),
    "all services: v2",
  );
  // The real build: every image pushed and attested.
  const built = {} as AttestedBuild["built"];
  for (const s of SERVICES) built[s] = await push(s, sha, 2);
  const sign = (service: string, digest: string, ref: string, trigger: string) =>
    signBundle(instance, {
      claims: claims(api, fullName, sha, ref, trigger),
      statement: statement(host, owner, service, digest),
    });
  const main = "refs/heads/main";
  api.addAttestation(fullName, built.api, await sign("api", built.api, main, "push"));
  await pushReferrers(registry.directHost, `${owner}/web`, built.web, [
    await sign("web", built.web, main, "push"),
  ]);
  for (const s of ["worker", "cache"] as const)
    api.addAttestation(fullName, built[s], await sign(s, built[s], main, "push"));
  // A pull request's build pushes the same tag names after it.
  const worker = await push("worker", sha, 3);
  const cache = await push("cache", sha, 3);
  api.addAttestation(fullName, cache, await sign("cache", cache, "refs/pull/7/merge", "pull_request"));
  return { fullName, sha, built, tagged: { ...built, worker, cache }, jobFiles };
}
