// The trusted root of GitHub's own Sigstore instance shipped in src/provenance/roots/github.ts. It was
// not fetched from GitHub: it is the copy of `gh attestation trusted-root` kept in
// combinatrix-ai/attestation-verify. So it is held to what can be checked offline: the bytes are that
// copy's, every chain is signed link by link up to GitHub's Internal Services Root, and attestations
// GitHub signed (taken independently, from cli/cli's test data) verify against it
// (interop-github-instance.test.ts). A root from anywhere else fails these checks.
import { createHash, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  chainProblems,
  githubRoot,
  parseTrustedRoots,
  publicGoodRoot,
  trustRoots,
} from "../../src/provenance/index.js";
import { GITHUB_AS_OF, GITHUB_SOURCE, GITHUB_TRUSTED_ROOT } from "../../src/provenance/roots/github.js";

const certificates = (chain: { certChain: { certificates: { rawBytes: string }[] } }) =>
  chain.certChain.certificates.map((c) => new X509Certificate(Buffer.from(c.rawBytes, "base64")));
const cn = (cert: X509Certificate) => /CN=([^\n]*)/.exec(cert.subject)?.[1];
const root = githubRoot();

describe("GitHub's Sigstore instance, shipped", () => {
  it("is byte for byte the copy its source names (JSON with one-space indent, as gh printed it)", () => {
    const text = JSON.stringify(GITHUB_TRUSTED_ROOT, null, 1);
    const sha256 = createHash("sha256").update(text).digest("hex");
    expect(GITHUB_SOURCE).toContain(`${Buffer.byteLength(text)} bytes, sha256 ${sha256}`);
    expect(sha256).toBe("ffa2051867cbbeca04a6b0e1982b7a20a6a58b4e8f5226af36a4fc3814d68a33");
  });

  it("holds six Fulcio CA and six TSA generations of fulcio/timestamp.githubapp.com, and no log", () => {
    expect(root.json.certificateAuthorities.map((ca) => ca.uri)).toEqual(
      Array(6).fill("fulcio.githubapp.com"),
    );
    expect(root.json.timestampAuthorities.map((ca) => ca.uri)).toEqual(
      Array(6).fill("timestamp.githubapp.com"),
    );
    expect([root.json.tlogs, root.json.ctlogs]).toEqual([[], []]);
    // Timestamps only: no transparency-log entry is asked for, an RFC 3161 timestamp is.
    expect(root.thresholds).toEqual({ tlog: 0, ctlog: 0, timestamps: 1 });
  });

  it("chains every Fulcio intermediate to GitHub's Internal Services Root, each link signed", () => {
    expect(chainProblems(root.json)).toEqual([]);
    const [self] = certificates(root.json.certificateAuthorities[0]!).slice(-1);
    expect(self!.subject).toBe("O=GitHub\\, Inc.\nCN=Internal Services Root");
    expect(self!.verify(self!.publicKey)).toBe(true);
    for (const ca of [...root.json.certificateAuthorities, ...root.json.timestampAuthorities]) {
      const chain = certificates(ca);
      // Same root key in every chain, not just the same name.
      expect(chain.at(-1)!.raw.equals(self!.raw)).toBe(true);
    }
    expect(root.json.certificateAuthorities.map((ca) => certificates(ca).map(cn))).toEqual(
      Array(6).fill(["Fulcio Intermediate l2", "Fulcio Intermediate l1", "Internal Services Root"]),
    );
  });

  it("says when its newest Fulcio intermediate expires (docs/supply-chain.md)", () => {
    const newest = root.json.certificateAuthorities.at(-1)!;
    expect(newest.validFor).toEqual({ start: "2026-06-12T00:00:00Z" });
    expect(new Date(certificates(newest)[0]!.validTo).toISOString()).toBe("2027-06-12T00:00:00.000Z");
  });

  it("finds a link that does not hold: a chain whose intermediate another key signed", () => {
    const broken = structuredClone(root.json);
    const chain = broken.certificateAuthorities[5]!.certChain.certificates;
    // The public-good root in place of GitHub's l1: the l2 above it was not signed by it.
    chain[1] = {
      rawBytes: publicGoodRoot().json.certificateAuthorities[0]!.certChain.certificates[0]!.rawBytes,
    };
    expect(chainProblems(broken)).toEqual([
      'CA fulcio.githubapp.com (#6): "O=GitHub, Inc., CN=Fulcio Intermediate l2" is not signed by "O=sigstore.dev, CN=sigstore"',
      'CA fulcio.githubapp.com (#6): "O=sigstore.dev, CN=sigstore" is not signed by "O=GitHub, Inc., CN=Internal Services Root"',
    ]);
    chain[0] = { rawBytes: Buffer.from("not a certificate").toString("base64") };
    expect(chainProblems(broken)).toEqual([
      expect.stringMatching(/^CA fulcio\.githubapp\.com \(#6\): a certificate does not parse/),
    ]);
    expect(chainProblems(publicGoodRoot().json)).toEqual([]);
  });

  it("is used by default beside public-good, each named with its date; a configured file replaces both", () => {
    const [publicGood, github] = trustRoots();
    expect([publicGood!.name, github!.name]).toEqual([
      publicGoodRoot().name,
      `GitHub's Sigstore instance (root as of ${GITHUB_AS_OF})`,
    ]);
    expect(GITHUB_AS_OF).toBe("2026-07-29");
    // Public-good: a transparency-log entry (and CT log) required; GitHub's: timestamps only.
    expect(publicGood!.thresholds).toEqual({ tlog: 1, ctlog: 1, timestamps: 1 });
    expect(github!.thresholds).toEqual({ tlog: 0, ctlog: 0, timestamps: 1 });
    const custom = JSON.stringify(publicGoodRoot().json);
    expect(trustRoots({ text: custom, where: "roots.json" }).map((r) => r.name)).toEqual(["roots.json"]);
    expect(parseTrustedRoots(custom, "roots.json")).toHaveLength(1);
  });
});
