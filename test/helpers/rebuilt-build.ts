// A repository whose digests must be reproduced by independent builders, for the end-to-end tests of the
// App and the Action: the build of commit `sha` (images.yml on main, push, GitHub-hosted) pushes
// `<service>:<sha>` and attests it with GitHub's attestations API; two builders rebuild it:
// `rebuild` (rebuild.yml on a self-hosted runner, started by the build's workflow_run, keyless, attested
// with GitHub's API) pushes `<sha>-rebuild`, and `nix` (a homelab builder signing with its key, public key
// in the repository) pushes `<sha>-nix` with its bundle beside the image (the referrers fallback tag).
// Per service each builder reproduces the image, stamps its build time into a file's mtime (not
// reproducible), or is late (`arrive` pushes and attests its result later). Everything is signed for real
// with the test Sigstore instance and a real key.
import type { GitHubStandIn } from "./github-api/index.js";
import { type BuiltImage, buildImage, pushTestImage } from "./oci.js";
import { pushReferrers } from "./referrers.js";
import type { TestRegistry } from "./registry.js";
import { type TestInstance, builderKey, signBundle, signWithKey } from "./sigstore.js";
import { configText, jobFile } from "../app/scenario.js";

export const TRUSTED_ROOT = ".github/sigstore-root.json";
export const NIX_KEY = ".github/keys/nix.pem";
/** The run id of every rebuild.yml run: its certificate's Run Invocation URI and its workflow_run event. */
export const REBUILD_RUN = 7700;
const nix = builderKey();

/** What a builder does for a service: reproduce the build, stamp a file's mtime, or not push yet. */
export type BuilderOutcome = "same" | "stamped" | "late";
export type Builder = "rebuild" | "nix";

export interface RebuiltRepo {
  fullName: string;
  /** The build commit. */
  sha: string;
  /** The digests the repository pins before the deploy. */
  old: Record<string, string>;
  /** The build's digests, `<service>:<sha>`. */
  built: Record<string, string>;
  /** The job file of each service as the repository has it before the deploy. */
  jobFiles: Record<string, string>;
  /** A late builder's result arrives: its tag pushed with the build's image, its attestation stored. */
  arrive(service: string, builder: Builder): Promise<void>;
}

const image = (service: string, version: number, mtime?: number): BuiltImage =>
  buildImage({
    layers: [{ [`srv/${service}`]: `${service} v${version}\n` }],
    ...(mtime ? { entryMeta: { [`srv/${service}`]: { mtime } } } : {}),
  });

export async function rebuiltRepo(
  api: GitHubStandIn,
  registry: TestRegistry,
  instance: TestInstance,
  input: {
    name: string;
    services: Record<string, Record<Builder, BuilderOutcome>>;
    /** `provenance.agree` (default: every builder). */
    agree?: number;
  },
): Promise<RebuiltRepo> {
  const owner = "acme";
  const fullName = `${owner}/${input.name}`;
  const services = Object.keys(input.services);
  const host = registry.host;
  const push = (service: string, tag: string, built: BuiltImage) =>
    pushTestImage(registry.directHost, `${owner}/${service}`, tag, built);
  const { sha: first } = api.createRepo({
    owner,
    name: input.name,
    files: { "README.md": `# ${fullName}\n` },
  });
  const old: Record<string, string> = {};
  const jobFiles: Record<string, string> = {};
  for (const s of services) {
    old[s] = await push(s, first, image(s, 1));
    jobFiles[`nomad/${s}.nomad.hcl`] = jobFile(host, s, `${first}@${old[s]}`);
  }
  const provenance = [
    "provenance:",
    `  trusted_root: ${TRUSTED_ROOT}`,
    "  builders:",
    '    - { name: rebuild, workflow: rebuild.yml, runner: self-hosted, tag: "{sha}-rebuild" }',
    `    - { name: nix, key: ${NIX_KEY}, tag: "{sha}-nix" }`,
    ...(input.agree ? [`  agree: ${input.agree}`] : []),
    "release_notes: { file: false }",
    "",
  ].join("\n");
  api.pushCommit(
    fullName,
    "main",
    {
      ".github/nomad-gitops.yml": configText(host, services, provenance),
      [TRUSTED_ROOT]: instance.trustedRoot,
      [NIX_KEY]: nix.pem,
      ...jobFiles,
    },
    "Require two builders to agree",
  );
  const sha = api.pushCommit(
    fullName,
    "main",
    Object.fromEntries(services.map((s) => [`services/${s}/main.go`, "// v2\n"])),
    "all services: v2",
  );
  const who = { fullName, repositoryId: String(api.repo(fullName).id), sha };
  const keyless = (service: string, digest: string, builder: "images" | "rebuild") =>
    keylessBundle(instance, { ...who, builder, subject: { host, name: `${owner}/${service}`, digest } });

  const built: Record<string, string> = {};
  for (const s of services) {
    built[s] = await push(s, sha, image(s, 2));
    api.addAttestation(fullName, built[s], await keyless(s, built[s], "images"));
  }
  // What each builder pushes under its tag, and how its result is attested.
  const deliver = async (service: string, builder: Builder, stamped: boolean) => {
    const result = stamped ? image(service, 2, STAMPED_MTIME) : image(service, 2);
    const digest = await push(service, `${sha}-${builder}`, result);
    if (builder === "rebuild")
      api.addAttestation(fullName, digest, await keyless(service, digest, "rebuild"));
    else
      await pushReferrers(registry.directHost, `${owner}/${service}`, digest, [
        nixBundle({ host, name: `${owner}/${service}`, digest }),
      ]);
  };
  for (const [s, outcomes] of Object.entries(input.services))
    for (const [builder, outcome] of Object.entries(outcomes) as Array<[Builder, BuilderOutcome]>)
      if (outcome !== "late") await deliver(s, builder, outcome === "stamped");
  return {
    fullName,
    sha,
    old,
    built,
    jobFiles,
    arrive: (service, builder) => deliver(service, builder, false),
  };
}

/** The image a bundle attests: `host/name@digest`. */
export interface Subject {
  host: string;
  name: string;
  digest: string;
}

/** A file's mtime a non-reproducible rebuild stamps (2025-11-26): the image's only difference. */
export const STAMPED_MTIME = 1_764_158_400;

/**
 * A keyless bundle of `fullName`'s build of `sha`: `images` is the build (images.yml, push,
 * GitHub-hosted), `rebuild` the builder (rebuild.yml, started by workflow_run, self-hosted).
 */
export function keylessBundle(
  instance: TestInstance,
  input: {
    fullName: string;
    repositoryId: string;
    sha: string;
    builder: "images" | "rebuild";
    subject: Subject;
  },
) {
  const rebuilt = input.builder === "rebuild";
  const uri = `https://github.com/${input.fullName}/.github/workflows/${input.builder}.yml@refs/heads/main`;
  return signBundle(instance, {
    claims: {
      san: uri,
      "8": "https://token.actions.githubusercontent.com",
      "9": uri,
      "11": rebuilt ? "self-hosted" : "github-hosted",
      "12": `https://github.com/${input.fullName}`,
      "13": input.sha,
      "14": "refs/heads/main",
      "15": input.repositoryId,
      "18": uri,
      "20": rebuilt ? "workflow_run" : "push",
      "21": `https://github.com/${input.fullName}/actions/runs/${rebuilt ? REBUILD_RUN : 42}/attempts/1`,
    },
    statement: statement(input.subject),
  });
}

/** The nix builder's bundle, signed with its key (hint `nix`); its public key is `nixPublicKey`. */
export const nixBundle = (subject: Subject) => signWithKey(nix.privateKey, "nix", statement(subject));
export const nixPublicKey = nix.pem;

function statement({ host, name, digest }: Subject) {
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: `${host}/${name}`, digest: { sha256: digest.slice("sha256:".length) } }],
    predicateType: "https://slsa.dev/provenance/v1",
    predicate: { buildDefinition: { buildType: "https://actions.github.io/buildtypes/workflow/v1" } },
  };
}
