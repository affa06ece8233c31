// Shared by the App's and the Action's write-failure tests: a stand-in repository with two services, the
// failure of each deploy write in turn (injected at the GitHub API stand-in), and what GitHub must hold
// afterwards: the open deploy PR's title, body and sticky comment describe what its branch holds.
import { expect } from "vitest";
import { buildImage, pushTestImage } from "../../src/demo/sandbox/oci.js";
import type { GitHubStandIn, LimitRule } from "./github-api/index.js";

export const PR_BRANCH = "nomad-gitops/deploy";
const MARKER = "<!-- nomad-gitops:images -->";

const image = (service: string, v: string) =>
  buildImage({ layers: [{ "srv/app.txt": `${service} ${v}\n` }] });

export function jobFile(job: string, ref: string): string {
  return `job "${job}" {\n  group "app" {\n    task "server" {\n      driver = "docker"\n      config {\n        image = "${ref}"\n      }\n    }\n  }\n}\n`;
}

export interface FaultRepo {
  repo: string;
  /** Pushes a commit changing `service` and its image (version `v`); returns the commit. */
  build(service: "web" | "api", v: string): Promise<string>;
}

/** acme-like `owner/name` with web and api pinned at v1; `config` is appended to the registry line. */
export async function faultRepo(
  api: GitHubStandIn,
  registryHost: string,
  owner: string,
  name: string,
  config: string,
): Promise<FaultRepo> {
  const repo = `${owner}/${name}`;
  const first = api.createRepo({ owner, name, files: { "README.md": "shop\n" } });
  const ref = async (service: string, tag: string, v: string) =>
    `${registryHost}/${name}/${service}:${tag}@${await pushTestImage(registryHost, `${name}/${service}`, tag, image(service, v))}`;
  api.pushCommit(
    repo,
    "main",
    {
      ".github/nomad-gitops.yml": `registry: ${registryHost}/${name}\n${config}`,
      "nomad/web.nomad.hcl": jobFile("web", await ref("web", first.sha, "v1")),
      "nomad/api.nomad.hcl": jobFile("api", await ref("api", first.sha, "v1")),
      "services/web/main.go": "package main\n",
      "services/api/main.go": "package main\n",
    },
    "pin web and api",
  );
  return {
    repo,
    async build(service, v) {
      const sha = api.pushCommit(
        repo,
        "main",
        { [`services/${service}/main.go`]: `package main // ${v}\n` },
        `${service} ${v}`,
      );
      await pushTestImage(registryHost, `${name}/${service}`, sha, image(service, v));
      return sha;
    },
  };
}

/** What GitHub shows of the deploy: the PR branch head, the open PR's text and its sticky comment. */
export interface Shown {
  head: string | null;
  pr: { number: number; title: string; body: string; labels: string[] } | null;
  comment: string | null;
}

export function shown(api: GitHubStandIn, repo: string): Shown {
  const state = api.repo(repo);
  const pr = state.pulls.find((p) => p.state === "open" && p.head === PR_BRANCH) ?? null;
  const comment = pr
    ? state.comments.find((c) => c.issue === pr.number && c.body.includes(MARKER))
    : undefined;
  return {
    head: state.refs.get(`refs/heads/${PR_BRANCH}`) ?? null,
    pr: pr && { number: pr.number, title: pr.title, body: pr.body, labels: [...pr.labels] },
    comment: comment?.body ?? null,
  };
}

/** One deploy write, failed at the stand-in as GitHub fails it (here a 502), and where it comes in the run. */
export interface WriteFault {
  step: string;
  rule: LimitRule;
  /** Whether the deploy PR already exists when it fails (else it is the run that opens it). */
  open: boolean;
  /** What GitHub must show afterwards: the state before the run (`before`) or the run's writes (`after`). */
  ends: "before" | "after" | "branch-only";
  /** Lines the failure report must hold. */
  report: RegExp[];
}

const fail = (match: LimitRule["match"], times = 1): LimitRule => ({
  kind: "error",
  status: 502,
  message: "Bad Gateway",
  times,
  match,
});
const is =
  (method: string, path: RegExp, body: (b: Record<string, unknown>) => boolean = () => true) =>
  (r: { method: string; path: string; body: Record<string, unknown> }) =>
    r.method === method && path.test(r.path.split("?")[0]!) && body(r.body);
// The Action's permission probes (a tree naming no blob, a PR from a branch into itself) are not the writes.
const notProbe = (b: Record<string, unknown>) => !JSON.stringify(b).includes("permission-probe");

export const WRITE_FAULTS: WriteFault[] = [
  {
    step: "tree",
    rule: fail(is("POST", /\/git\/trees$/, notProbe)),
    open: true,
    ends: "before",
    report: [
      /- the tree: \*\*failed\*\* \(GitHub answered 502 to POST \/repos\/[^)]+\/git\/trees: Bad Gateway\)/,
      /- not tried: the commit, branch `nomad-gitops\/deploy`, PR #\d+'s title and body, the sticky comment, the labels, the release draft/,
    ],
  },
  {
    step: "commit",
    rule: fail(is("POST", /\/git\/commits$/)),
    open: true,
    ends: "before",
    report: [
      /- tree `[0-9a-f]{7}` \(on no branch by itself\): written/,
      /- the commit: \*\*failed\*\*/,
      /- not tried: branch `nomad-gitops\/deploy`/,
    ],
  },
  {
    step: "ref",
    rule: fail((r) => r.path === "/graphql" && r.write),
    open: true,
    ends: "before",
    report: [
      /- commit `[0-9a-f]{7}` \(on no branch by itself\): written/,
      /- branch `nomad-gitops\/deploy`: \*\*failed\*\*/,
    ],
  },
  // No PR branch yet: it is created at the deploy branch head, then committed on (createCommitOnBranch).
  {
    step: "branch create",
    rule: fail(is("POST", /\/git\/refs$/)),
    open: false,
    ends: "before",
    report: [
      /- branch `nomad-gitops\/deploy` \(created\): \*\*failed\*\* \(GitHub answered 502 to POST \/repos\/[^)]+\/git\/refs: Bad Gateway\)/,
      /- not tried: the commit, the deploy PR, the sticky comment, the labels, the release draft/,
    ],
  },
  {
    step: "commit on the new branch",
    rule: fail((r) => r.path === "/graphql" && r.write),
    open: false,
    ends: "before",
    report: [
      /- branch `nomad-gitops\/deploy` created at the deploy branch head `[0-9a-f]{7}`: written/,
      /- the commit: \*\*failed\*\* \(GitHub answered 502 to POST \/graphql: Bad Gateway\)/,
      // Deleted again: left at the deploy branch head it would hold nothing, and look like someone's branch.
      /- branch `nomad-gitops\/deploy` deleted again: put back/,
      /- not tried: the deploy PR, the sticky comment, the labels, the release draft/,
    ],
  },
  {
    step: "PR create",
    rule: fail(is("POST", /\/pulls$/, (b) => b.head !== b.base)),
    open: false,
    ends: "branch-only",
    report: [
      /- branch `nomad-gitops\/deploy` created at the deploy branch head `[0-9a-f]{7}`: written/,
      /- commit `[0-9a-f]{7}` on branch `nomad-gitops\/deploy`: written/,
      /- the deploy PR: \*\*failed\*\*/,
      /no deploy PR is open to describe it; the next run opens it/,
    ],
  },
  {
    step: "PR update",
    rule: fail(is("PATCH", /\/pulls\/\d+$/)),
    open: true,
    ends: "before",
    report: [
      /- PR #\d+'s title and body: \*\*failed\*\*/,
      /- branch `nomad-gitops\/deploy` moved back to `[0-9a-f]{7}`: put back/,
    ],
  },
  {
    step: "comment",
    rule: fail(is("PATCH", /\/issues\/comments\/\d+$/)),
    open: true,
    ends: "before",
    report: [
      /- PR #\d+'s title and body: written/,
      /- the sticky comment: \*\*failed\*\*/,
      /- PR #\d+'s title and body: put back/,
      /- branch `nomad-gitops\/deploy` moved back to `[0-9a-f]{7}`: put back/,
    ],
  },
  {
    step: "labels",
    rule: fail(is("POST", /\/issues\/\d+\/labels$/)),
    open: true,
    ends: "after",
    report: [
      /- the sticky comment: written/,
      /- the labels: \*\*failed\*\*/,
      /- not tried: the release draft/,
    ],
  },
  {
    step: "release draft",
    rule: fail(is("POST", /\/releases$/)),
    open: true,
    ends: "after",
    report: [/- the labels: written/, /- the release draft: \*\*failed\*\*/],
  },
];

/** The last check run's failure is its own report: both its completions fail, the error carries the report. */
export const CHECK_FAULT = fail(is("PATCH", /\/check-runs\/\d+$/), 2);

/** Asserts GitHub shows one consistent state: the one before the run, or the run's, never a mix. */
export function expectConsistent(now: Shown, before: Shown, fault: WriteFault, moved: string): void {
  if (fault.ends === "before") {
    expect(now).toEqual(before);
    return;
  }
  expect(now.head).not.toBe(before.head);
  if (fault.ends === "branch-only") {
    expect(now.pr).toBeNull();
    return;
  }
  // The run's text: the PR and its comment now name the service whose image moved in this run.
  expect(now.pr!.number).toBe(before.pr!.number);
  expect(now.pr!.title).not.toBe(before.pr!.title);
  expect(now.pr!.title).toContain(moved);
  expect(now.comment).not.toBe(before.comment);
  expect(now.comment).toContain(moved);
}
