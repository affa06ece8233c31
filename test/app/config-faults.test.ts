// Config faults through the App: a glob outside the repository and a YAML alias bomb are an invalid
// config like any other, reported as a failed check run naming the file (and the key where it can be
// known), and nothing else happens.
import { afterEach, beforeEach, describe, it } from "vitest";
import { pushEvent } from "../fixtures/github/payloads.js";
import { R, mockCheckList, mockConfig, mockInvalidConfigCheck } from "./github-mocks.js";
import { type TestProbot, mockInstallationToken, startTestApp, expectGitHubDone } from "./harness.js";

const SHA = "a".repeat(40);

let t: TestProbot;
beforeEach(async () => {
  t = await startTestApp();
});
afterEach(() => expectGitHubDone(t));

describe("an invalid config through the App", () => {
  it("[fault:config-glob-outside-repository] a `jobs` glob with `..` or an absolute path: a failed check run naming each key", async () => {
    mockInstallationToken();
    mockConfig(
      "registry: ghcr.io/acme/platform\nbuild: { workflow: images.yml }\njobs: ['../infra/*.nomad', '/srv/jobs/*.hcl']\n",
      SHA,
    );
    mockCheckList(SHA, []);
    mockInvalidConfigCheck(
      SHA,
      'jobs.0: "../infra/*.nomad" is outside the repository: write it relative to the repository root (no leading "/", no "..")',
      'jobs.1: "/srv/jobs/*.hcl" is outside the repository: write it relative to the repository root (no leading "/", no "..")',
    );
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("[fault:config-alias-bomb] a YAML alias bomb: a failed check run naming the file and why, nothing expanded", async () => {
    mockInstallationToken();
    const bomb = [
      'lol0: &lol0 "lol"',
      ...Array.from(
        { length: 9 },
        (_, i) => `lol${i + 1}: &lol${i + 1} [${Array(9).fill(`*lol${i}`).join(", ")}]`,
      ),
      "",
    ].join("\n");
    mockConfig(bomb, SHA);
    mockCheckList(SHA, []);
    mockInvalidConfigCheck(
      SHA,
      `Configuration could not be parsed from https://api.github.com${R}/contents/.github%2Fnomad-gitops.yml?ref=${SHA} (invalid YAML): YAML aliases expand too far (one anchor expanded more than 100 times, counting the aliases inside it, as in a "billion laughs" document): write the values out or use fewer nested aliases`,
    );
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });

  it("[fault:config-too-large] a config over 1 MiB: a failed check run saying its size and the bound, never parsed", async () => {
    mockInstallationToken();
    // Valid YAML all the way: only its size is wrong.
    const huge = `registry: ghcr.io/acme/platform\n${"# padding padding padding padding\n".repeat(32 * 1024)}`;
    mockConfig(huge, SHA);
    mockCheckList(SHA, []);
    mockInvalidConfigCheck(
      SHA,
      `the file is ${Math.ceil(Buffer.byteLength(huge) / 1024)} KiB; a config may be at most 1024 KiB`,
    );
    await t.probot.receive(pushEvent({ ref: "refs/heads/main", after: SHA }));
  });
});
