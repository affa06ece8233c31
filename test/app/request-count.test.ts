// The number of GitHub API requests of a deploy does not grow with the number of services.
import nock from "nock";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";
import { countDeployRequests, prepareServices } from "./request-count.js";

let registry: TestRegistry;
let digests: Record<string, string>;
beforeAll(async () => {
  registry = await startRegistry();
  digests = await prepareServices(registry, 100);
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
}, 120_000);
afterAll(async () => {
  nock.cleanAll();
  await registry?.stop();
});

it("moves 1 of N services with the same GitHub requests for N = 1, 10, 100", async () => {
  const counts = [];
  for (const n of [1, 10, 100]) counts.push(await countDeployRequests(registry, n, digests));
  process.stdout.write(
    counts
      .map(
        (c) =>
          `N=${c.services}: ${c.github} GitHub requests (${c.graphql} GraphQL), ${c.registry} registry requests\n`,
      )
      .join(""),
  );
  expect(new Set(counts.map((c) => c.github)).size).toBe(1);
  // Same requests, not just the same number.
  expect(counts[2]!.requests).toEqual(counts[0]!.requests);
  expect(counts[0]!.requests).toMatchInlineSnapshot(`
    [
      "POST /app/installations/:id/access_tokens",
      "GET /repos/acme/platform/contents/.github%2Fnomad-gitops.yml?ref=2222222222222222222222222222222222222222",
      "POST /graphql",
      "GET /repos/acme/platform/pulls?state=open&head=acme%3Anomad-gitops%2Fdeploy&base=main&per_page=1",
      "GET /repos/acme/platform/commits/2222222222222222222222222222222222222222/check-runs?check_name=nomad-gitops&filter=all&per_page=100",
      "GET /repos/acme/platform/git/trees/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee?recursive=1",
      "POST /graphql",
      "GET /repos/acme/platform/compare/1111111111111111111111111111111111111111...2222222222222222222222222222222222222222",
      "POST /graphql",
      "POST /graphql",
      "POST /repos/acme/platform/git/refs",
      "POST /graphql",
      "POST /repos/acme/platform/pulls",
      "POST /repos/acme/platform/issues/12/comments",
      "POST /repos/acme/platform/issues/12/labels",
      "PATCH /repos/acme/platform/check-runs/77",
    ]
  `);
}, 120_000);
