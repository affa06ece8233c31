import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { GitError, compare, revParse } from "../../src/workspace/git.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A real repository with two commits, the second a child of the first. */
async function twoCommits(seed = "a"): Promise<{ dir: string; first: string; second: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "ngb-git-"));
  dirs.push(dir);
  const git = (...args: string[]) => execa("git", args, { cwd: dir });
  await git("init", "-q", "-b", "main");
  await git("config", "user.name", "Test");
  await git("config", "user.email", "test@example.com");
  await writeFile(path.join(dir, "a"), `${seed}1\n`);
  await git("add", "a");
  await git("commit", "-q", "-m", "one");
  await writeFile(path.join(dir, "a"), `${seed}2\n`);
  await git("commit", "-q", "-am", "two");
  const ids = (await git("rev-list", "main")).stdout.split("\n");
  return { dir, first: ids[1]!, second: ids[0]! };
}

describe("revParse", () => {
  it("asks git once per commit id: a full id it resolved is answered without git", async () => {
    const { dir, first, second } = await twoCommits();
    expect(await revParse(dir, "HEAD")).toBe(second);
    expect(await revParse(dir, "HEAD~1")).toBe(first);
    // Without the repository, git can answer nothing: only what it resolved before is known.
    await rm(path.join(dir, ".git"), { recursive: true });
    expect(await revParse(dir, second)).toBe(second);
    expect(await revParse(dir, first)).toBe(first);
    expect(await compare(dir, second, second)).toBe("identical");
    // A name can move, and a short id is not remembered: both are asked again, and fail now.
    await expect(revParse(dir, "HEAD")).rejects.toThrow(GitError);
    await expect(revParse(dir, second.slice(0, 12))).rejects.toThrow(GitError);
  });

  it("remembers a commit per repository, and never what git refused", async () => {
    const a = await twoCommits();
    const b = await twoCommits("b");
    await revParse(a.dir, a.second);
    // The same id in another repository is asked there (its commits hold other files).
    await expect(revParse(b.dir, a.second)).rejects.toThrow(`"${a.second}" is not a commit`);
    const missing = "0".repeat(40);
    await expect(revParse(a.dir, missing)).rejects.toThrow(GitError);
    await expect(revParse(a.dir, missing)).rejects.toThrow(GitError);
    expect(await compare(a.dir, a.first, a.second)).toBe("ahead");
    expect(await compare(a.dir, a.second, a.first)).toBe("behind");
    expect(await compare(a.dir, missing, a.second)).toBe("unknown");
  });
});
