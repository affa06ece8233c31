// Secrets under a registry that echoes them: an htpasswd registry (real Basic auth) behind a proxy whose
// error bodies repeat the request's Authorization header and the decoded password. Whatever the CLI
// prints (plan, --json with prBody and comment, errors of `digest`), the credential is not in it, the
// message still says what went wrong, and nothing is written for the service that failed.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { captureIO } from "../helpers/io.js";
import { buildImage, pushTestImage } from "../helpers/oci.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { createServiceRepo } from "../helpers/service-repo.js";
import { PASSWORD, USER, authHome, echoHeaders, leaks } from "../helpers/secrets.js";

let registry: TestRegistry;
let tmp: string;
let repo: string;
let env: Record<string, string>;
let build: string;
const SERVICES = ["fine", "leaky", "chatty"] as const;
const image = (name: string, v: number) => buildImage({ layers: [{ "app/main.txt": `${name} v${v}\n` }] });
let git: (...args: string[]) => Promise<string>;

beforeAll(async () => {
  registry = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
  tmp = await mkdtemp(path.join(os.tmpdir(), "ngb-secrets-"));
  env = { ...(await authHome(path.join(tmp, "home"), registry.host)), PATH: process.env.PATH! };
  repo = path.join(tmp, "repo");
  const pins: Record<string, string> = {};
  for (const s of SERVICES) {
    const v1 = await pushTestImage(registry.directHost, `acme/${s}`, "v1", image(s, 1), {
      basic: `${USER}:${PASSWORD}`,
    });
    pins[s] = `v1@${v1}`;
  }
  git = await createServiceRepo(repo, registry.host, pins);
  build = await git("rev-parse", "HEAD");
  for (const s of SERVICES)
    await pushTestImage(registry.directHost, `acme/${s}`, build, image(s, 2), {
      basic: `${USER}:${PASSWORD}`,
    });
  // leaky's registry errors echo the header in its JSON error format, chatty's as plain text.
  registry.intercept({
    request: (req) =>
      req.headers.authorization === undefined
        ? undefined
        : req.path.startsWith("/v2/acme/leaky/")
          ? echoHeaders(req, "json")
          : req.path.startsWith("/v2/acme/chatty/")
            ? echoHeaders(req, "text")
            : undefined,
  });
});
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const run = async (...argv: string[]) => {
  const cap = captureIO({ cwd: repo, env });
  const code = await main(argv, cap.io);
  return { code, stdout: cap.stdout, stderr: cap.stderr };
};

describe("a registry that echoes credentials in its errors", () => {
  it("[fault:header-echo] apply --json: no credential in stdout, stderr, prBody or comment; the failed services are errors and nothing is written for them", async () => {
    const before = await Promise.all(
      SERVICES.map((s) => readFile(path.join(repo, `nomad/${s}.nomad.hcl`), "utf8")),
    );
    const out = await run("apply", "--json", "--commit", "nomad-gitops/deploy");
    expect(leaks(out.stdout + out.stderr)).toEqual([]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(1);
    const data = JSON.parse(out.stdout) as {
      services: Array<{ name: string; status: string; reason?: string }>;
      prBody: string;
      comment: string;
      commit: { sha: string } | null;
    };
    expect(data.services.map((s) => `${s.name} ${s.status}`)).toEqual([
      "chatty error",
      "fine moved",
      "leaky error",
    ]);
    const reasons = Object.fromEntries(data.services.map((s) => [s.name, s.reason ?? ""]));
    // Still clear: which request, which status, what the registry said, with the credential cut out.
    expect(reasons.leaky).toMatch(/HTTP 400: request rejected; you sent authorization: Basic \[REDACTED\]/);
    expect(reasons.chatty).toMatch(/HTTP 400: bad request authorization: Basic \[REDACTED\]/);
    for (const text of [data.prBody, data.comment, reasons.leaky!, reasons.chatty!])
      expect(leaks(text)).toEqual([]);
    expect(data.comment).toContain("leaky");
    // Only fine's pin moved, in the working tree and in the commit.
    const after = await Promise.all(
      SERVICES.map((s) => readFile(path.join(repo, `nomad/${s}.nomad.hcl`), "utf8")),
    );
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).toBe(before[1]);
    expect(after[2]).toBe(before[2]);
    expect(await git("show", "--name-only", "--format=", "nomad-gitops/deploy")).toBe(
      ["RELEASES.md", "nomad/fine.nomad.hcl"].join("\n"),
    );
    expect(leaks(await git("log", "-p", "nomad-gitops/deploy"))).toEqual([]);
    await git("checkout", "-q", "--", ".");
    await git("clean", "-qfd");
  });

  it("[fault:header-echo] plan and digest print the registry's message without the credential", async () => {
    const plan = await run("plan");
    expect(plan.code).toBe(1);
    expect(plan.stdout).toMatch(
      /leaky +error .*HTTP 400: request rejected; you sent authorization: Basic \[REDACTED\]/,
    );
    expect(plan.stdout).toContain("password [REDACTED]");
    const digest = await run("digest", `${registry.host}/acme/leaky:${build}`);
    expect(digest.code).toBe(1);
    expect(digest.stderr).toContain(
      "authorization: Basic [REDACTED] (user ci-deployer, password [REDACTED])",
    );
    expect(leaks(plan.stdout + plan.stderr + digest.stdout + digest.stderr)).toEqual([]);
  });
});
