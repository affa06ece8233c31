// The GitHub API requests of one deploy that moves 1 of N services, for the constancy test and
// bench/github.ts: the same App, the real local registry, GitHub replaced by nock.
import nock from "nock";
import { workflowRunEvent } from "../fixtures/github/payloads.js";
import type { TestRegistry } from "../helpers/registry.js";
import { committed, mockFindPr, mockHistory, mockReadTexts } from "./github-mocks.js";
import { mockInstallationToken, takeRequests, startTestApp } from "./harness.js";
import {
  C1,
  S1,
  S2,
  configText,
  image,
  jobFile,
  mockPlanningReads,
  pushImages,
  mockNewBranchWrites,
} from "./scenario.js";

export interface DeployCount {
  services: number;
  /** GitHub API requests, the installation token exchange included. */
  github: number;
  graphql: number;
  registry: number;
  ms: number;
  requests: string[];
}

const name = (i: number) => `svc${String(i).padStart(3, "0")}`;

/** Pushes S1 (deployed) and S2 (built) images for `n` services; only svc000 differs between the two. */
export async function prepareServices(registry: TestRegistry, n: number): Promise<Record<string, string>> {
  const list: Array<[string, string, ReturnType<typeof image>]> = [];
  for (let i = 0; i < n; i += 1) {
    list.push([name(i), S1, image(name(i), 1)], [name(i), S2, image(name(i), i === 0 ? 2 : 1)]);
  }
  return pushImages(registry, list);
}

export async function countDeployRequests(
  registry: TestRegistry,
  n: number,
  digests: Record<string, string>,
): Promise<DeployCount> {
  const host = registry.host;
  const services = Array.from({ length: n }, (_, i) => name(i));
  const files: Record<string, string> = { "RELEASES.md": "# Releases\n" };
  for (const s of services)
    files[`nomad/${s}.nomad.hcl`] = jobFile(host, s, `${S1}@${digests[`${s}:${S1}`]}`);

  const t = await startTestApp({ registry: host });
  mockInstallationToken();
  mockPlanningReads({
    config: configText(host, services),
    files,
    ancestry: { status: "ahead", commits: [C1], files: ["services/svc000/main.go"] },
  });
  mockHistory(S2, ["services/svc000"], C1.date, [[C1]]);
  mockReadTexts(S2, [["RELEASES.md", "# Releases\n"]]);
  mockFindPr("nomad-gitops/deploy", "main", null);
  const bodies: unknown[] = [];
  mockNewBranchWrites(bodies);

  registry.clearRequests();
  const started = performance.now();
  await t.probot.receive(workflowRunEvent({ headSha: S2, conclusion: "success", branch: "main" }));
  const ms = performance.now() - started;
  const pending = nock.pendingMocks();
  if (pending.length > 0) throw new Error(`requests expected but not made: ${pending.join(", ")}`);
  const paths = committed(bodies[1]).map((e) => e.path);
  if (paths.join() !== "nomad/svc000.nomad.hcl,RELEASES.md") {
    throw new Error(`unexpected commit contents: ${paths.join()}`);
  }
  const requests = ["POST /app/installations/:id/access_tokens", ...takeRequests()];
  return {
    services: n,
    github: requests.length,
    graphql: requests.filter((r) => r === "POST /graphql").length,
    registry: registry.requests().length,
    ms,
    requests,
  };
}
