// The pure core: documented Nomad responses (test/fixtures/nomad-api) → summaries → markdown.
import { describe, expect, it } from "vitest";
import {
  renderDriftSection,
  renderPlanSection,
  renderRollout,
  rolloutDescription,
} from "../../src/nomad/render.js";
import { compareDrift, summarizePlan, summarizeRollout } from "../../src/nomad/summary.js";
import type { JobPlanResponse, NomadAllocation, NomadDeployment, NomadJob } from "../../src/nomad/types.js";
import { fixture, jobWith } from "../helpers/nomad.js";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;

describe("summarizePlan", () => {
  it("reads the destructive update of an image change and the changed field", () => {
    const summary = summarizePlan("banana", fixture<JobPlanResponse>("job-plan.edited.json"));
    expect(summary).toMatchInlineSnapshot(`
      {
        "changes": [
          {
            "field": "Config.image",
            "group": "app",
            "new": "ghcr.io/acme/banana:2222222@sha256:2222222222222222222222222222222222222222222222222222222222222222",
            "old": "ghcr.io/acme/banana:1111111@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "task": "server",
            "type": "Edited",
          },
        ],
        "diffType": "Edited",
        "groups": [
          {
            "canary": 0,
            "create": 0,
            "destroy": 0,
            "destructive": 2,
            "ignore": 0,
            "inPlace": 0,
            "name": "app",
            "placementFailed": false,
          },
        ],
        "job": "banana",
        "warnings": [],
      }
    `);
  });

  it("renders a folded section per job, and errors and notes as lines", () => {
    const edited = summarizePlan("banana", fixture<JobPlanResponse>("job-plan.edited.json"));
    const added = summarizePlan("cherry", {
      ...fixture<JobPlanResponse>("job-plan.added.json"),
      FailedTGAllocs: { app: { NodesEvaluated: 1 } },
      Warnings: 'Group "app" has warnings',
    });
    expect(
      renderPlanSection({
        address: "https://nomad.example:4646",
        jobs: [
          { file: "nomad/banana.nomad.hcl", job: "banana", ok: true, summary: edited },
          { file: "nomad/cherry.nomad.hcl", job: "cherry", ok: true, summary: added },
          {
            file: "nomad/broken.nomad.hcl",
            job: null,
            ok: false,
            error: "Nomad answered 400: 1 error occurred",
          },
        ],
      }),
    ).toMatchInlineSnapshot(`
      "#### Nomad plan (\`https://nomad.example:4646\`)

      <details><summary>\`banana\` (\`nomad/banana.nomad.hcl\`): 2 allocations replaced</summary>

      | group | create | destroy | in-place | destructive | canary | ignore |
      |---|---|---|---|---|---|---|
      | app | 0 | 0 | 0 | 2 | 0 | 0 |

      Changed fields:

      - \`app/server\` \`Config.image\`: \`ghcr.io/acme/banana:1111111@sha256:1111111111111111111111111111111111111111111111111111111111111111\` → \`ghcr.io/acme/banana:2222222@sha256:2222222222222222222222222222222222222222222222222222222222222222\`

      </details>

      <details><summary>\`cherry\` (\`nomad/cherry.nomad.hcl\`): new job — ⚠️ placement failures</summary>

      | group | create | destroy | in-place | destructive | canary | ignore |
      |---|---|---|---|---|---|---|
      | app ⚠️ | 2 | 0 | 0 | 0 | 0 | 0 |

      Changed fields:

      - \`app/server\` \`Driver\`: added \`docker\`
      - \`app/server\` \`Config.image\`: added \`ghcr.io/acme/banana:2222222@sha256:2222222222222222222222222222222222222222222222222222222222222222\`

      The scheduler could not place every allocation of: \`app\`.

      > Group "app" has warnings

      </details>

      - \`nomad/broken.nomad.hcl\`: Nomad answered 400: 1 error occurred
      "
    `);
    expect(renderPlanSection({ address: "http://n:4646", jobs: [] })).toBe("");
  });
});

describe("compareDrift", () => {
  const site = (service: string, job: string, digest: string | null) => ({
    service,
    file: `nomad/${job}.nomad.hcl`,
    job,
    group: "app",
    task: "server",
    repository: `ghcr.io/acme/${service}`,
    digest,
  });

  it("tells same, drift, missing job and tag-only images apart, and renders only the differences", () => {
    const jobs = new Map<string, NomadJob | null>([
      ["apple", jobWith("apple", `ghcr.io/acme/apple:1@${D1}`) as NomadJob],
      ["banana", jobWith("banana", `ghcr.io/acme/banana:2@${D2}`) as NomadJob],
      ["cherry", null],
      ["date", jobWith("date", "ghcr.io/acme/date:latest") as NomadJob],
      // group/task named differently in the cluster: found by repository.
      ["elder", jobWith("elder", `ghcr.io/acme/elder@${D1}`, { group: "web", task: "main" }) as NomadJob],
    ]);
    const entries = compareDrift(
      [
        site("apple", "apple", D1),
        site("banana", "banana", D1),
        site("cherry", "cherry", D1),
        site("date", "date", D1),
        site("elder", "elder", D1),
      ],
      jobs,
    );
    expect(entries.map((e) => [e.service, e.status, e.runningDigest?.slice(0, 12) ?? null])).toEqual([
      ["apple", "same", "sha256:11111"],
      ["banana", "drift", "sha256:22222"],
      ["cherry", "job-not-running", null],
      ["date", "unpinned-in-cluster", null],
      ["elder", "same", "sha256:11111"],
    ]);
    expect(renderDriftSection("http://nomad:4646", entries)).toMatchInlineSnapshot(`
      "### Cluster drift (\`http://nomad:4646\`)

      3 image sites differ from what git pins (2 match).

      | service | job | task | git pins | cluster runs | status |
      |---|---|---|---|---|---|
      | banana | \`banana\` | \`app/server\` | \`111111111111\` | \`222222222222\` | **drift** |
      | cherry | \`cherry\` | \`app/server\` | \`111111111111\` | — | job not in the cluster |
      | date | \`date\` | \`app/server\` | \`111111111111\` | \`ghcr.io/acme/date:latest\` | cluster runs a tag without digest |
      "
    `);
    expect(
      renderDriftSection(
        "http://nomad:4646",
        [],
        "cluster unreachable: http://nomad:4646: ECONNREFUSED (GET /v1/job/apple): drift not checked.",
      ),
    ).toContain("> cluster unreachable");
    expect(renderDriftSection("http://nomad:4646", [])).toBe("");
  });
});

describe("summarizeRollout", () => {
  it("maps a successful deployment to success", () => {
    const s = summarizeRollout(fixture<NomadDeployment>("deployment.successful.json"), []);
    expect([s.state, rolloutDescription(s)]).toEqual([
      "success",
      "v4: Deployment completed successfully (2/2 healthy)",
    ]);
  });

  it("maps a running deployment to in_progress and no deployment to queued", () => {
    expect(summarizeRollout(fixture<NomadDeployment>("deployment.running.json"), []).state).toBe(
      "in_progress",
    );
    expect(summarizeRollout(null, []).state).toBe("queued");
  });

  it("names the failing allocation's events on failure", () => {
    const s = summarizeRollout(
      fixture<NomadDeployment>("deployment.failed.json"),
      fixture<NomadAllocation[]>("allocations.failed.json"),
    );
    expect(s.failures).toMatchInlineSnapshot(`
      [
        {
          "allocation": "287b65cc-6c25-cea9-0332-e4a75ca2af98",
          "events": [
            "Driver Failure: Failed to pull \`ghcr.io/acme/banana:2222222@sha256:2222222222222222222222222222222222222222222222222222222222222222\`: manifest unknown",
            "Not Restarting: Exceeded allowed attempts 2 in interval 30m0s and mode is "fail"",
          ],
          "group": "app",
          "task": "server",
        },
      ]
    `);
    const description = rolloutDescription(s);
    expect(description.length).toBeLessThanOrEqual(140);
    expect(description).toMatchInlineSnapshot(
      `"v4: Failed due to unhealthy allocations - rolling back to job version 3 (0/2 healthy) — server: Driver Failure: Failed to pull \`ghcr.io/acm…"`,
    );
    expect(renderRollout("banana", "banana", s)).toMatchInlineSnapshot(`
      "**banana** (job \`banana\`): failure — v4: Failed due to unhealthy allocations - rolling back to job version 3 (0/2 healthy)

      | group | desired | placed | healthy | unhealthy |
      |---|---|---|---|---|
      | app | 2 | 1 | 0 | 1 |

      Allocation \`287b65cc\` \`app/server\`:
      - Driver Failure: Failed to pull \`ghcr.io/acme/banana:2222222@sha256:2222222222222222222222222222222222222222222222222222222222222222\`: manifest unknown
      - Not Restarting: Exceeded allowed attempts 2 in interval 30m0s and mode is "fail"
      "
    `);
  });
});
