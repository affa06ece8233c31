// GitHub's attestations API (nock, exact paths): paging by cursor, "none" as 404, a missing permission
// said as such and never as "no attestation".
import nock from "nock";
import { ProbotOctokit } from "probot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AttestationsAccessError, listAttestations } from "../../src/github/attestations.js";

const octokit = new ProbotOctokit({
  auth: { token: "ghs_test" },
  retry: { enabled: false },
  throttle: { enabled: false },
});
const coords = { owner: "acme", repo: "platform" };
const DIGEST = `sha256:${"ab".repeat(32)}`;
const path = `/repos/acme/platform/attestations/${encodeURIComponent(DIGEST)}`;

beforeEach(() => nock.disableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe("listAttestations", () => {
  it("follows GitHub's cursor to the last page and returns every bundle", async () => {
    nock("https://api.github.com")
      .get(path)
      .query({ per_page: "100" })
      .reply(
        200,
        { attestations: [{ bundle: { n: 1 }, repository_id: 1 }, { bundle: { n: 2 } }] },
        {
          link: `<https://api.github.com/repositories/1/attestations/${encodeURIComponent(DIGEST)}?per_page=100&after=Y3Vyc29y>; rel="next"`,
        },
      )
      .get(path)
      .query({ per_page: "100", after: "Y3Vyc29y" })
      .reply(200, { attestations: [{ bundle: { n: 3 } }, { bundle: null, bundle_url: "https://x" }] });
    expect(await listAttestations(octokit, coords, DIGEST)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("[fault:attestations-forbidden] reads GitHub's 404 as no attestation, and a 403 as the missing permission", async () => {
    nock("https://api.github.com").get(path).query(true).reply(404, { message: "Not Found" });
    expect(await listAttestations(octokit, coords, DIGEST)).toEqual([]);
    nock("https://api.github.com")
      .get(path)
      .query(true)
      .reply(403, { message: "Resource not accessible by integration" });
    const denied = listAttestations(octokit, coords, DIGEST);
    await expect(denied).rejects.toBeInstanceOf(AttestationsAccessError);
    nock("https://api.github.com")
      .get(path)
      .query(true)
      .reply(403, { message: "Resource not accessible by integration" });
    await expect(listAttestations(octokit, coords, DIGEST)).rejects.toThrow(
      "GitHub refused to list attestations (403): the App or token needs the `attestations: read` permission on acme/platform",
    );
  });

  it("refuses an answer that is not the documented shape", async () => {
    nock("https://api.github.com").get(path).query(true).reply(200, { attestations: "nope" });
    await expect(listAttestations(octokit, coords, DIGEST)).rejects.toThrow(
      `GitHub's attestations answer for ${DIGEST} is not the documented shape`,
    );
  });
});
