// `npm run demo`: the whole idea on one machine in well under a minute. A throwaway registry on
// 127.0.0.1, a sample monorepo with three services, two pushes through the real `apply` command:
// the first pins all three, the second changes one service and must move only that one.
// `--check` also verifies the outcome independently (registry, job files, request log) and exits 1
// when it is not what the product promises; `--keep` leaves the temp dir for a look around.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type CliIO, processIO } from "../cli/io.js";
import { main as cli } from "../cli/main.js";
import { shortSha } from "../core/templates.js";
import { findImages } from "../jobfile/jobfile.js";
import { createRegistryClient } from "../registry/client.js";
import { type LocalRegistry, type RecordedRequest, startLocalRegistry } from "./sandbox/registry.js";
import { SERVICES, SampleMonorepo, type Service } from "./monorepo.js";

export interface Outcome {
  first: { exit: number; output: string };
  second: { exit: number; output: string; requests: RecordedRequest[] };
  repo: SampleMonorepo;
  registryHost: string;
  shas: [string, string];
}

const heading = (io: CliIO, text: string) => io.out(`\n== ${text}\n`);

async function apply(io: CliIO, repo: SampleMonorepo, imagesFile: string, showAll: boolean, json: boolean) {
  const argv = ["apply", "--repo", repo.dir, "--images", imagesFile, ...(json ? ["--json"] : [])];
  io.out(
    `$ nomad-gitops-bot ${argv.join(" ").replace(repo.dir, ".").replace(path.dirname(repo.dir), "..")}\n`,
  );
  const captured: string[] = [];
  const progress: string[] = [];
  // Progress lines would only repeat the report below; they are shown when something failed.
  const quietIO: CliIO = { ...io, out: (t) => void captured.push(t), err: (t) => void progress.push(t) };
  const exit = await cli(argv, quietIO);
  const output = captured.join("");
  if (exit !== 0) io.err(progress.join(""));
  // The first run's PR body is the same story told three times; the second run shows it in full.
  io.out(showAll ? output : output.split("\n--- PR:")[0]!);
  return { exit, output };
}

export interface ScenarioOptions {
  /**
   * Run both applies with `--json`: the outputs are then the results as data (PR comment, check run,
   * plan), which is what scripts/screenshots.ts renders.
   */
  json?: boolean;
}

/** The demo's story (sections 1-5) against `registry`, with its files under `work`. */
export async function runScenario(
  io: CliIO,
  registry: LocalRegistry,
  work: string,
  options: ScenarioOptions = {},
): Promise<Outcome> {
  const json = options.json === true;
  const prefix = `${registry.host}/demo`;
  const repo = new SampleMonorepo(path.join(work, "repo"), prefix);

  heading(io, "1. A throwaway registry and a sample monorepo");
  const initial = await repo.init();
  io.out(
    [
      `registry  ${registry.host} (Debian's docker-registry, storage in a temp dir)`,
      `monorepo  ${repo.dir}`,
      `          services/{${SERVICES.join(",")}}, nomad/{${SERVICES.join(",")}}.nomad.hcl, .github/nomad-gitops.yml`,
      "",
    ].join("\n"),
  );

  heading(io, `2. First push (${shortSha(initial)}): build all three images, apply`);
  await repo.build(path.join(work, "build-1"));
  const first = await apply(io, repo, path.join(work, "build-1", "images.json"), false, json);
  // What merging the deploy PR does in real life.
  await repo.commit("Deploy web, api, worker (the bot's PR, merged)");
  io.out("\n(the deploy PR is merged: the job files now pin all three digests)\n");

  heading(io, "3. Second push: only services/api changed; every image is rebuilt");
  await repo.write("services/api/main.txt", 'GET /hello -> {"message": "bonjour"}\n');
  const second_ = await repo.commit("api: answer in French");
  io.out(`commit ${shortSha(second_)} "api: answer in French"\n`);
  await repo.build(path.join(work, "build-2"));
  registry.clearRequests();
  const second = await apply(io, repo, path.join(work, "build-2", "images.json"), true, json);
  const requests = registry.requests();

  heading(io, "4. The job file diff the deploy PR carries");
  io.out(await repo.git("diff", "--no-color", "--", "nomad"));

  heading(io, "5. Registry traffic of the second run, per service");
  for (const service of SERVICES) {
    const mine = requests.filter((r) => r.path.startsWith(`/v2/demo/${service}/`));
    const kinds = new Map<string, number>();
    for (const r of mine) {
      const what = r.path.includes("/blobs/uploads/")
        ? "upload"
        : r.path.includes("/blobs/")
          ? "blob"
          : "manifest";
      const key = `${r.method} ${what}`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
    const blobs = mine.filter((r) => r.method === "PUT" && r.path.includes("/blobs/uploads/")).length;
    const list = [...kinds].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(", ");
    io.out(
      `${service.padEnd(7)} ${String(mine.length).padStart(2)} requests (${list}): ` +
        `${blobs === 0 ? "no blob uploaded" : `${blobs} blob${blobs === 1 ? "" : "s"} uploaded`}\n`,
    );
  }
  return {
    first,
    second: { ...second, requests },
    repo,
    registryHost: registry.host,
    shas: [initial, second_],
  };
}

/** Independent checks of what the demo claims, read from the registry, git and the job files. */
async function check(outcome: Outcome): Promise<string[]> {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => void (ok || problems.push(what));
  const { repo, registryHost, shas } = outcome;
  const client = createRegistryClient({ env: {} });
  const image = (s: Service, tag: string) => `${registryHost}/demo/${s}:${tag}`;

  expect(outcome.first.exit === 0, `first apply exited ${outcome.first.exit}`);
  expect(outcome.second.exit === 0, `second apply exited ${outcome.second.exit}`);
  expect(/\b0 moved, 3 new, 0 unchanged\b/.test(outcome.first.output), "first run: not 3 new");
  expect(
    /\b1 moved, 0 new, 2 unchanged\b/.test(outcome.second.output),
    "second run: not 1 moved, 2 unchanged",
  );

  const changed = (await repo.git("diff", "--name-only")).split("\n").filter(Boolean);
  expect(
    changed.filter((f) => f.startsWith("nomad/")).join() === "nomad/api.nomad.hcl",
    `job files changed by the second run: ${changed.join(", ") || "none"} (expected nomad/api.nomad.hcl)`,
  );
  expect(changed.includes("RELEASES.md"), "no release notes written");
  const notes = changed.includes("RELEASES.md") ? await repo.read("RELEASES.md") : "";
  expect(notes.includes("api: answer in French"), "release notes miss the api commit");

  for (const service of SERVICES) {
    const pinnedBefore = await client.digest(image(service, shas[0]));
    const built = await client.digest(image(service, shas[1])).catch(() => null);
    const file = `nomad/${service}.nomad.hcl`;
    const scan = await findImages(await repo.read(file));
    const pinned = scan.ok ? (scan.images[0]?.ref?.digest ?? null) : null;
    expect(built !== null, `${service}: no image tagged ${shortSha(shas[1])} in the registry`);
    if (service === "api") {
      expect(built !== pinnedBefore, "api: digest did not move");
      expect(pinned === built, `api: ${file} pins ${pinned}, the registry serves ${built}`);
    } else {
      expect(built === pinnedBefore, `${service}: the retagged tag points at a different digest`);
      expect(pinned === pinnedBefore, `${service}: ${file} no longer pins its deployed digest`);
      const uploads = outcome.second.requests.filter((r) =>
        r.path.startsWith(`/v2/demo/${service}/blobs/uploads/`),
      );
      expect(
        uploads.length === 0,
        `${service}: ${uploads.length} blob upload requests for an unchanged image`,
      );
    }
  }
  return problems;
}

export async function demo(argv: string[], io: CliIO = processIO): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { check: { type: "boolean", default: false }, keep: { type: "boolean", default: false } },
  });
  const started = Date.now();
  io.out("nomad-gitops-bot demo: deployments that touch only the services whose image digest moved\n");
  const work = await mkdtemp(path.join(os.tmpdir(), "nomad-gitops-demo-"));
  let registry: LocalRegistry | null = null;
  const cleanup = async () => {
    await registry?.stop();
    registry = null;
    if (!values.keep) await rm(work, { recursive: true, force: true });
  };
  const interrupted = () => void cleanup().finally(() => process.exit(130));
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    registry = await startLocalRegistry();
    const outcome = await runScenario(io, registry, work);
    let code = 0;
    if (values.check) {
      heading(io, "6. Checks (--check)");
      const problems = await check(outcome);
      for (const p of problems) io.out(`FAIL ${p}\n`);
      if (problems.length === 0)
        io.out("ok: 1 moved (api), 2 unchanged (web, worker) with no blob uploaded\n");
      code = problems.length === 0 ? 0 : 1;
    }
    io.out(
      `\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        (values.keep ? `kept ${work} (the registry is stopped)\n` : "registry stopped, temp files removed\n"),
    );
    return code;
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    await cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  demo(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
