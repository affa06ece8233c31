// Registry benchmark: digest lookups and retags for 200 services against a local docker-registry,
// beside the same work done with `skopeo inspect` / `skopeo copy` in the same run.
// Wall times are measured straight against the registry; request counts come from a second pass of
// the same work through the recording proxy (every request, token requests included), because the
// proxy shares this process's event loop and would tax the fast side more than skopeo.
import { execa } from "execa";
import { createRegistryClient } from "../src/registry/index.js";
import { buildImage, pushTestImage } from "../test/helpers/oci.js";
import { type RecordedRequest, type TestRegistry, startRegistry } from "../test/helpers/registry.js";
import type { BenchSection } from "./types.js";

const SERVICES = 200;
/** skopeo is slow enough that it runs on 3 rounds of 7 services, extrapolated (said so in the output). */
const ROUNDS = 3;
const SLICE = 7;
/** Services in the counting passes (counts per service do not depend on the number). */
const COUNTED = 50;

const repo = (i: number) => `bench/svc-${String(i).padStart(3, "0")}`;
const client = () => createRegistryClient({ env: {} });

type Work = (host: string, services: number[], tag: string, pushAccess?: boolean) => Promise<unknown>;

const ops: Record<string, Work> = {
  digest: (host, services) => {
    const c = client();
    return Promise.all(services.map((i) => c.digest(`${host}/${repo(i)}:1.0`)));
  },
  digestSequential: async (host, services) => {
    const c = client();
    for (const i of services) await c.digest(`${host}/${repo(i)}:1.0`);
  },
  retag: (host, services, tag) => {
    const c = client();
    return Promise.all(services.map((i) => c.retag(`${host}/${repo(i)}:1.0`, [tag])));
  },
  retagNoCheck: (host, services, tag) => {
    const c = client();
    return Promise.all(
      services.map((i) => c.retag(`${host}/${repo(i)}:1.0`, [tag], { checkExisting: false })),
    );
  },
  // The bot's pattern for an unchanged service: look it up with one GET (bytes cached by digest),
  // then retag by digest: HEAD the new tag + PUT.
  lookupThenRetag: (host, services, tag, pushAccess = false) => {
    const c = createRegistryClient({ env: {}, pushAccess });
    return Promise.all(
      services.map(async (i) => {
        const { digest } = await c.manifest(`${host}/${repo(i)}:1.0`);
        return c.retag(`${host}/${repo(i)}@${digest}`, [tag]);
      }),
    );
  },
  skopeoInspect: async (host, services) => {
    for (const i of services) {
      const ref = `docker://${host}/${repo(i)}:1.0`;
      await execa("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", ref]);
    }
  },
  skopeoCopy: async (host, services, tag) => {
    for (const i of services) {
      const tls = ["--src-tls-verify=false", "--dest-tls-verify=false"];
      const [from, to] = [`docker://${host}/${repo(i)}:1.0`, `docker://${host}/${repo(i)}:${tag}`];
      await execa("skopeo", ["copy", "--all", ...tls, from, to]);
    }
  },
};

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function count(registry: TestRegistry, work: () => Promise<unknown>): Promise<RecordedRequest[]> {
  registry.clearRequests();
  await work();
  return registry.requests();
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

export async function run(): Promise<BenchSection> {
  const registry = await startRegistry();
  const direct = registry.directHost;
  let tags = 0;
  const freshTag = () => `sha-${String(++tags).padStart(7, "0")}`;
  try {
    // Setup (not measured): 200 distinct three-layer images, each in its own repository.
    for (let i = 0; i < SERVICES; i++) {
      const layers: Array<Record<string, string>> = [
        { "etc/os-release": "bench" },
        { "app/config": `service ${i}` },
        { "app/bin": `binary ${i}` },
      ];
      await pushTestImage(direct, repo(i), "1.0", buildImage({ layers }));
    }
    const all = range(0, SERVICES);

    // Head-to-head pairs interleaved in rounds (ours on all 200, skopeo on a slice), medians reported,
    // so a burst of load on the (shared) machine does not land on one side only.
    const t = {
      digest: [] as number[],
      inspect: [] as number[],
      retag: [] as number[],
      copy: [] as number[],
    };
    for (let round = 0; round < ROUNDS; round++) {
      const sample = range(round * SLICE, SLICE);
      t.digest.push(await time(() => ops.digest!(direct, all, "")));
      t.inspect.push(await time(() => ops.skopeoInspect!(direct, sample, "")));
      const tag = freshTag();
      t.retag.push(await time(() => ops.retag!(direct, all, tag)));
      t.copy.push(await time(() => ops.skopeoCopy!(direct, sample, freshTag())));
    }
    const digestSeqMs = await time(() => ops.digestSequential!(direct, range(0, COUNTED), ""));
    const retagNoCheckMs = await time(() => ops.retagNoCheck!(direct, all, freshTag()));
    const lookupThenRetagMs = await time(() => ops.lookupThenRetag!(direct, all, freshTag()));
    const retagExistsTag = freshTag();
    await ops.retagNoCheck!(direct, all, retagExistsTag);
    const retagExistsMs = await time(() => ops.retag!(direct, all, retagExistsTag));

    // Counting passes through the proxy.
    const host = registry.host;
    const counted = range(SERVICES - COUNTED, COUNTED);
    const c = {
      digest: await count(registry, () => ops.digest!(host, counted, "")),
      inspect: await count(registry, () => ops.skopeoInspect!(host, counted.slice(0, 3), "")),
      retag: await count(registry, () => ops.retag!(host, counted, freshTag())),
      retagNoCheck: await count(registry, () => ops.retagNoCheck!(host, counted, freshTag())),
      lookupThenRetag: await count(registry, () => ops.lookupThenRetag!(host, counted, freshTag())),
      retagExists: await count(registry, () => ops.retag!(host, counted, retagExistsTag)),
      copy: await count(registry, () => ops.skopeoCopy!(host, counted.slice(0, 3), freshTag())),
    };
    // The same behind a Bearer token check (a token endpoint in the proxy): tokens are per repository
    // scope, so each service costs one token request, shared by its calls.
    tokenAuth(registry);
    const bearerDigest = await count(registry, () => ops.digest!(host, counted, ""));
    const bearerRetag = await count(registry, () => ops.lookupThenRetag!(host, counted, freshTag()));
    const bearerShared = await count(registry, () => ops.lookupThenRetag!(host, counted, freshTag(), true));
    registry.intercept(null);

    const per = (requests: RecordedRequest[], n: number) => (requests.length / n).toFixed(2);
    const uploads = (requests: RecordedRequest[]) =>
      requests.filter((r) => r.method === "POST" && r.path.includes("/blobs/uploads/")).length;
    const tokens = (requests: RecordedRequest[]) =>
      requests.filter((r) => r.path.startsWith("/token")).length;
    const ms = (value: number) => `${value.toFixed(0)} ms`;
    const each = (value: number, n: number) => `${(value / n).toFixed(2)} ms`;
    const digestMs = median(t.digest);
    const inspectMs = median(t.inspect);
    const retagMs = median(t.retag);
    const copyMs = median(t.copy);
    const inspect200 = (inspectMs / SLICE) * SERVICES;
    const copy200 = (copyMs / SLICE) * SERVICES;

    const rows: Array<[string, RecordedRequest[], number, string, string]> = [
      ["digest, 200 in parallel (8 per host)", c.digest, COUNTED, ms(digestMs), each(digestMs, SERVICES)],
      [`digest, one at a time (${COUNTED})`, c.digest, COUNTED, ms(digestSeqMs), each(digestSeqMs, COUNTED)],
      [
        "`skopeo inspect --format {{.Digest}}`, one at a time",
        c.inspect,
        3,
        `≈ ${ms(inspect200)} (extrapolated)`,
        each(inspectMs, SLICE),
      ],
      [
        "retag to a new tag (HEAD tag + GET + PUT), 200 in parallel",
        c.retag,
        COUNTED,
        ms(retagMs),
        each(retagMs, SERVICES),
      ],
      [
        "retag, `checkExisting: false` (GET + PUT)",
        c.retagNoCheck,
        COUNTED,
        ms(retagNoCheckMs),
        each(retagNoCheckMs, SERVICES),
      ],
      [
        "lookup by GET, then retag by digest (HEAD + PUT; manifest cached)",
        c.lookupThenRetag,
        COUNTED,
        ms(lookupThenRetagMs),
        each(lookupThenRetagMs, SERVICES),
      ],
      [
        "retag when the tag is already there (HEAD tag + GET source)",
        c.retagExists,
        COUNTED,
        ms(retagExistsMs),
        each(retagExistsMs, SERVICES),
      ],
      [
        "`skopeo copy --all` in the same repo, one at a time",
        c.copy,
        3,
        `≈ ${ms(copy200)} (extrapolated)`,
        each(copyMs, SLICE),
      ],
      ["Bearer auth: digest", bearerDigest, COUNTED, "—", "—"],
      ["Bearer auth: lookup by GET, then retag by digest", bearerRetag, COUNTED, "—", "—"],
      [
        "Bearer auth, `pushAccess: true`: lookup by GET, then retag by digest",
        bearerShared,
        COUNTED,
        "—",
        "—",
      ],
    ];
    const markdown = [
      `Debian docker-registry on 127.0.0.1, ${SERVICES} services, each its own repository with a distinct three-layer`,
      "image, anonymous access unless noted. Wall times straight against the registry; requests per service from a",
      `second pass of ${COUNTED} services through a recording proxy (every request counted, token requests too).`,
      `skopeo is timed on ${ROUNDS} rounds of ${SLICE} services interleaved with our rounds on all ${SERVICES};`,
      `medians of the rounds; **skopeo's 200-service times are extrapolated** (× ${(SERVICES / SLICE).toFixed(1)}).`,
      "",
      "| operation | requests / service | blob uploads | wall time, 200 services | per service |",
      "|---|---:|---:|---:|---:|",
      ...rows.map(([name, requests, n, wall, perService]) =>
        [name, per(requests, n), uploads(requests), wall, perService]
          .join(" | ")
          .replace(/^/, "| ")
          .concat(" |"),
      ),
      "",
      "Ratios (same run):",
      "",
      `- digest, 200 services: ${ms(digestMs)} vs skopeo inspect ≈ ${ms(inspect200)}: ` +
        `**${(inspect200 / digestMs).toFixed(1)}× faster** (one at a time: ` +
        `${(inspectMs / SLICE / (digestSeqMs / COUNTED)).toFixed(1)}×); ${per(c.digest, COUNTED)} vs ` +
        `${per(c.inspect, 3)} requests per service.`,
      `- retag, 200 services: ${ms(retagMs)} vs skopeo copy ≈ ${ms(copy200)}: ` +
        `**${(copy200 / retagMs).toFixed(1)}× faster**; ${per(c.retag, COUNTED)} requests per service ` +
        `(${per(c.retagNoCheck, COUNTED)} without the exists check, ${per(c.lookupThenRetag, COUNTED)} for lookup + retag) ` +
        `vs ${per(c.copy, 3)}.`,
      `- Bearer: ${tokens(bearerDigest)} token requests for ${COUNTED} lookups, ${tokens(bearerRetag)} for ${COUNTED} ` +
        "lookup + retag runs: one per repository and scope (the lookup's pull token cannot push, so the retag " +
        `fetches a pull,push one; with \`pushAccess: true\` they share it: ${tokens(bearerShared)}), plus one 401 per registry host.`,
      "",
      "Targets: digest = 1 request: met. Retag = 2 requests per image: met with `checkExisting: false`, and after",
      "a lookup by GET (the manifest is cached by digest, so the retag itself is HEAD + PUT); a retag of a tag",
      "reference adds one HEAD per tag so it can report `exists` and leave such a tag alone. No blob is uploaded.",
    ].join("\n");
    return { title: "Registry: digest lookups and retags", markdown };
  } finally {
    await registry.stop();
  }
}

/** A minimal token service in the proxy: 401 + Bearer challenge, tokens that name their scope. */
function tokenAuth(registry: TestRegistry) {
  const realm = `http://${registry.host}/token`;
  registry.intercept({
    request(req) {
      const url = new URL(req.path, "http://proxy");
      if (url.pathname === "/token") {
        const scope = url.searchParams.get("scope") ?? "";
        return {
          status: 200,
          body: JSON.stringify({ token: Buffer.from(scope).toString("base64url"), expires_in: 300 }),
        };
      }
      const repository = /^\/v2\/(.+)\/manifests\//.exec(url.pathname)?.[1] ?? "";
      const action = req.method === "PUT" ? "push" : "pull";
      const auth = req.headers.authorization ?? "";
      const scope = auth.startsWith("Bearer ") ? Buffer.from(auth.slice(7), "base64url").toString() : "";
      const [, granted, actions] = scope.split(":");
      if (granted === repository && actions?.split(",").includes(action)) return undefined;
      return {
        status: 401,
        headers: {
          "www-authenticate": `Bearer realm="${realm}",service="bench",scope="repository:${repository}:${action}"`,
        },
        body: JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }),
      };
    },
  });
}
