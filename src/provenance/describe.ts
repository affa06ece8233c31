// What people read of a verdict: one line, the same words in the check run, the sticky comment and
// `verify REF` (markdown adds links), and the `gh attestation verify` command that checks a digest against
// the same policy, so anyone can verify a pin without this bot.
import { workflowUri, type ProvenancePolicy } from "./policy.js";
import type { Attester, Verdict } from "./verify.js";

export type VerdictFormat = "text" | "markdown";

const RUN = /\/actions\/runs\/(\d+)(?:\/attempts\/(\d+))?\/?$/;

/** `run 42` (`run 42, attempt 2` past the first attempt) for a GitHub Actions run URI, else `build run`. */
export function runName(link: string): string {
  const m = RUN.exec(link);
  if (!m) return "build run";
  return m[2] !== undefined && m[2] !== "1" ? `run ${m[1]}, attempt ${m[2]}` : `run ${m[1]}`;
}

const noHtml = (text: string) => text.replace(/[<>]/g, (c) => (c === "<" ? "&lt;" : "&gt;"));
const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

/** The workflow that signed; a reusable one names the repository's workflow that called it. */
function signedBy(a: Attester, md: boolean): string {
  const show = md ? code : (t: string) => t;
  const called =
    a.workflow !== undefined && a.workflow !== a.signer ? ` (called by ${show(a.workflow)})` : "";
  return `${show(a.signer)}${called}`;
}

function commitText(a: Attester, md: boolean): string {
  const short = a.commit.slice(0, 7);
  return md && a.repository
    ? `[${code(short)}](https://github.com/${a.repository}/commit/${a.commit})`
    : short;
}

/**
 * One line: `verified: <signer> built <commit> (<trigger>, <runner> runner), <run>` or
 * `unverified: <check> — <reason>`. Builders that must agree (k of n) append their count to this line.
 */
export function describeVerdict(v: Verdict, format: VerdictFormat = "text"): string {
  // A refused certificate's values (a pull request's branch name) are someone else's text: no HTML.
  if (v.status === "unverified")
    return `unverified: ${v.check} — ${format === "markdown" ? noHtml(v.reason) : v.reason}`;
  return `verified: ${whoSigned(v, format)}`;
}

/** What a verified signature attests: `<signer> built <commit> (<trigger>, <runner> runner), <run>`. */
export function whoSigned(v: Extract<Verdict, { status: "verified" }>, format: VerdictFormat): string {
  const md = format === "markdown";
  const a = v.attester;
  // A bundle signed with a builder's key names no build, only the key.
  if (a === undefined) return `signed with ${v.signer} (${v.root})`;
  const how = [a.trigger, a.runner && `${a.runner} runner`].filter(Boolean).join(", ");
  const run =
    v.link === undefined ? "" : md ? `, [${runName(v.link)}](${v.link})` : `, ${runName(v.link)} ${v.link}`;
  return `${signedBy(a, md)} built ${commitText(a, md)}${how ? ` (${how})` : ""}${run}`;
}

/**
 * `gh attestation verify` checking what the policy checks. `--cert-identity` compares the SAN exactly
 * (the workflow file at its ref, or the reusable signer); `--signer-workflow` would be a regular
 * expression without an end anchor, so `…@refs/tags/v1` would also accept `…@refs/tags/v10`. gh has no
 * flag for the build trigger, the repository id or the calling workflow: those are this bot's own checks.
 */
export function ghVerifyCommand(image: string, digest: string, policy: ProvenancePolicy): string[] {
  const san =
    policy.signer === undefined
      ? workflowUri(policy.repository, policy.workflow, policy.ref)
      : `https://github.com/${policy.signer}`;
  return [
    "gh",
    "attestation",
    "verify",
    `oci://${image}@${digest}`,
    "--repo",
    policy.repository,
    "--cert-identity",
    san,
    "--source-ref",
    policy.ref,
    "--source-digest",
    policy.commit,
    ...(policy.runner === "github-hosted" ? ["--deny-self-hosted-runners"] : []),
  ];
}

/** An argument list as one line a POSIX shell reads back into the same arguments. */
export function shellLine(argv: readonly string[]): string {
  return argv
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(" ");
}
