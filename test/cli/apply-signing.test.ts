// `apply --commit` follows the repository's commit rules: with `commit.gpgsign` the commit is signed by
// the user's own setup (ssh or openpgp, their gpg.program), a signing setup that fails stops the run
// before anything is pushed (or, failing later, leaves the branch and working tree as they were), and
// commit hooks, which the plumbing commit does not run, are named. Real git, real keys made here.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { GitFixture } from "../core/git-fixture.js";
import { captureIO } from "../helpers/io.js";
import { type TestRegistry, startRegistry } from "../helpers/registry.js";

let registry: TestRegistry;
let keys: string;
const repos: GitFixture[] = [];

beforeAll(async () => {
  registry = await startRegistry();
  keys = await mkdtemp(path.join(os.tmpdir(), "ngb-signing-"));
  await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", path.join(keys, "id")]);
  const pub = (await readFile(path.join(keys, "id.pub"), "utf8")).trim();
  await writeFile(path.join(keys, "allowed_signers"), `test@example.com ${pub}\n`);
});
afterAll(async () => {
  for (const r of repos) await r.remove();
  await registry?.stop();
  if (keys) {
    await execa("gpgconf", ["--homedir", path.join(keys, "gnupg"), "--kill", "gpg-agent"], { reject: false });
    await rm(keys, { recursive: true, force: true });
  }
});

async function builtRepo(): Promise<GitFixture> {
  const repo = await GitFixture.create(registry.host, registry.directHost);
  repos.push(repo);
  await repo.build(await repo.git("rev-parse", "HEAD"));
  return repo;
}

const run = async (repo: GitFixture, ...argv: string[]) => {
  const cap = captureIO({ cwd: repo.dir });
  const code = await main(argv, cap.io);
  // Progress lines (scanned…, [i/n] …) aside: what the run says about itself.
  const said = cap.stderr.split(/(?<=\n)/).filter((l) => l.startsWith("nomad-gitops-bot "));
  return { code, stdout: cap.stdout, stderr: said.join("") };
};

/** ssh signing as a user sets it up: the key, commit.gpgsign, and an allowed-signers file to verify. */
async function sshSigning(repo: GitFixture, program?: string): Promise<void> {
  await repo.git("config", "gpg.format", "ssh");
  await repo.git("config", "user.signingkey", path.join(keys, "id.pub"));
  await repo.git("config", "gpg.ssh.allowedSignersFile", path.join(keys, "allowed_signers"));
  await repo.git("config", "commit.gpgsign", "true");
  if (program) await repo.git("config", "gpg.ssh.program", program);
}

async function script(name: string, body: string): Promise<string> {
  const file = path.join(keys, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

describe("apply --commit and the repository's commit rules", () => {
  it("[fault:commit-signing] commit.gpgsign with an ssh key: the deploy commit is signed and verifies", async () => {
    const repo = await builtRepo();
    await sshSigning(repo);
    const out = await run(repo, "apply", "--commit", "deploy");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const sha = await repo.git("rev-parse", "deploy");
    expect(out.stdout).toContain(`committed ${sha.slice(0, 12)} on deploy (signed, ssh)\n`);
    const verified = await execa("git", ["verify-commit", "deploy"], { cwd: repo.dir, reject: false });
    expect(verified.exitCode).toBe(0);
    expect(verified.stderr).toContain('Good "git" signature for test@example.com with ED25519 key');
    // The working tree got what the signed commit holds.
    expect(await repo.git("diff", "deploy", "--", "nomad")).toBe("");
  });

  it("[fault:commit-signing] commit.gpgsign with openpgp through the user's gpg.program: signed and verifies", async () => {
    const home = path.join(keys, "gnupg");
    await mkdir(home, { mode: 0o700 });
    await execa("gpg", [
      "--homedir",
      home,
      "--batch",
      "--passphrase",
      "",
      "--quick-gen-key",
      "Test Author <test@example.com>",
      "ed25519",
      "sign",
      "never",
    ]);
    // The user's own program: gpg with their keyring, as a wrapper script is a common setup.
    const program = await script("gpg-wrapper", `exec gpg --homedir "${home}" "$@"`);
    const repo = await builtRepo();
    await repo.git("config", "gpg.program", program);
    await repo.git("config", "commit.gpgsign", "true");
    const out = await run(repo, "apply", "--commit", "deploy", "--json");
    expect(out.code).toBe(0);
    const data = JSON.parse(out.stdout) as { commit: { sha: string; signed: string; hooksNotRun: string[] } };
    expect(data.commit).toEqual({
      branch: "deploy",
      sha: await repo.git("rev-parse", "deploy"),
      signed: "openpgp",
      hooksNotRun: [],
    });
    const verified = await execa("git", ["verify-commit", "deploy"], { cwd: repo.dir, reject: false });
    expect(verified.exitCode).toBe(0);
    expect(verified.stderr).toContain('Good signature from "Test Author <test@example.com>"');
  });

  it("[fault:commit-signing-fails] a signing program that fails: refused before any registry request, nothing written", async () => {
    const repo = await builtRepo();
    const broken = await script(
      "broken-signer",
      'echo "signing backend unavailable: no card inserted" >&2\nexit 1',
    );
    await sshSigning(repo, broken);
    const before = await repo.git("rev-parse", "HEAD");
    registry.clearRequests();
    const out = await run(repo, "apply", "--commit", "deploy");
    expect(out.code).toBe(2);
    expect(out.stderr).toBe(
      "nomad-gitops-bot apply: git could not sign the commit (commit.gpgsign is true, gpg.format ssh): " +
        "error: signing backend unavailable: no card inserted. " +
        "Nothing was committed; fix the signing setup (user.signingkey, gpg.program, the agent) and run apply again\n",
    );
    expect(registry.requests()).toEqual([]);
    expect(await repo.git("branch", "--list", "deploy")).toBe("");
    expect(await repo.git("rev-parse", "HEAD")).toBe(before);
    expect(await repo.git("status", "--porcelain")).toBe("");
  });

  it("[fault:commit-signing-fails] signing that fails only at the deploy commit: not committed, exit 1, branch and working tree unchanged", async () => {
    const repo = await builtRepo();
    // Works for the check before the run, fails afterwards (an agent that locked, a key removed).
    const once = path.join(keys, "signed-once");
    await rm(once, { force: true });
    const flaky = await script(
      "flaky-signer",
      `if [ -e "${once}" ]; then echo "agent refused operation" >&2; exit 1; fi\ntouch "${once}"\nexec ssh-keygen "$@"`,
    );
    await sshSigning(repo, flaky);
    await repo.git("branch", "deploy", "HEAD~0");
    const deployBefore = await repo.git("rev-parse", "deploy");
    const jobBefore = await repo.read("nomad/banana.nomad.hcl");
    const out = await run(repo, "apply", "--commit", "deploy");
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /^nomad-gitops-bot apply: not committed: git could not sign the commit \(commit\.gpgsign is true, gpg\.format ssh\): error: agent refused operation\. Nothing was committed; .*run apply again\n$/,
    );
    expect(out.stdout).not.toContain("committed ");
    expect(out.stdout).not.toContain("wrote ");
    expect(await repo.git("rev-parse", "deploy")).toBe(deployBefore);
    expect(await repo.read("nomad/banana.nomad.hcl")).toBe(jobBefore);
    expect(await repo.git("status", "--porcelain")).toBe("");
  });

  it("[fault:commit-hooks-not-run] pre-commit and commit-msg hooks: not run, and said so (also from core.hooksPath)", async () => {
    const repo = await builtRepo();
    const marker = path.join(repo.dir, "hook-ran");
    for (const hook of ["pre-commit", "commit-msg"]) {
      await writeFile(path.join(repo.dir, ".git/hooks", hook), `#!/bin/sh\ntouch "${marker}"\nexit 1\n`, {
        mode: 0o755,
      });
    }
    // A sample that is not executable is not a hook, as for git.
    await writeFile(path.join(repo.dir, ".git/hooks/post-commit"), "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    const out = await run(repo, "apply", "--commit", "deploy");
    expect(out.code).toBe(0);
    expect(out.stderr).toBe(
      "nomad-gitops-bot apply: hooks not run: pre-commit, commit-msg: the commit on deploy was built with git plumbing from HEAD's tree, not by `git commit`; run them on deploy if the repository relies on them\n",
    );
    await expect(readFile(marker)).rejects.toThrow();
    expect(await repo.git("rev-parse", "deploy^")).toBe(await repo.git("rev-parse", "HEAD"));

    // Hooks a manager installs under core.hooksPath (relative to the repository root).
    await mkdir(path.join(repo.dir, ".husky"));
    await writeFile(path.join(repo.dir, ".husky/commit-msg"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    await repo.git("config", "core.hooksPath", ".husky");
    await repo.git("checkout", "-q", "--", ".");
    const again = await run(repo, "apply", "--commit", "deploy2", "--json");
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { commit: { hooksNotRun: string[] } }).commit.hooksNotRun).toEqual([
      "commit-msg",
    ]);
    expect(again.stderr).toContain("hooks not run: commit-msg:");
  });
});
