// GitHub API requests of one App deploy that moves 1 of N services (N = 1, 10, 100): the real App and the
// real local registry, GitHub's API replaced by nock. The count must not grow with N: files are read with
// one tree listing and one GraphQL query, and the update is one commit.
import nock from "nock";
import { startRegistry } from "../test/helpers/registry.js";
import { countDeployRequests, prepareServices } from "../test/app/request-count.js";
import type { BenchSection } from "./types.js";

export async function run(): Promise<BenchSection> {
  const registry = await startRegistry();
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  try {
    const digests = await prepareServices(registry, 100);
    await countDeployRequests(registry, 1, digests); // warm-up: parser and module loading out of the timings
    const rows: string[] = [];
    let requests: string[] = [];
    for (const n of [1, 10, 100]) {
      const c = await countDeployRequests(registry, n, digests);
      rows.push(`| ${n} | ${c.github} | ${c.graphql} | ${c.registry} | ${c.ms.toFixed(0)} |`);
      requests = c.requests;
    }
    return {
      title: "GitHub App: API requests per deploy",
      markdown: [
        "One `workflow_run` (build succeeded) that moves 1 of N services: commit, PR, label, sticky comment,",
        "check run. GitHub requests include the installation token exchange; registry requests are the digest",
        "lookups and retags of the real local registry (they grow with N, one or two per service).",
        "",
        "| services | GitHub requests | of which GraphQL | registry requests | wall ms |",
        "|---:|---:|---:|---:|---:|",
        ...rows,
        "",
        "<details><summary>The requests (same list for every N)</summary>",
        "",
        "```",
        ...requests,
        "```",
        "",
        "</details>",
      ].join("\n"),
    };
  } finally {
    nock.cleanAll();
    nock.enableNetConnect();
    await registry.stop();
  }
}
