// The real-world corpus, used in place: every valid file is scanned, pinned and verified; every
// invalid one is reported with a line.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findImages } from "../../src/jobfile/jobfile.js";
import { type PinTarget, pinImages } from "../../src/jobfile/pin.js";
import { repositoryOf } from "../../src/image/reference.js";
import { createHash } from "node:crypto";

const dir = path.resolve(process.cwd(), "../shared/corpus/nomad");
// The corpus sits beside the project in its workspace (and in CI), not in a plain clone of the repo:
// there the suite says it is skipped instead of failing on a missing directory.
const present = existsSync(path.join(dir, "MANIFEST.tsv"));
const manifest = new Map(
  (present ? readFileSync(path.join(dir, "MANIFEST.tsv"), "utf8") : "header\n")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split("\t"))
    .map((cols) => [cols[0]!, { valid: cols[5] === "true", features: cols[6]!.split(",") }]),
);
const files = present ? readdirSync(dir).filter((f) => f !== "MANIFEST.tsv" && !f.endsWith(".md")) : [];
const digestFor = (repo: string) => `sha256:${createHash("sha256").update(repo).digest("hex")}`;
const count = (text: string, needle: RegExp) => (text.match(needle) ?? []).length;

describe.skipIf(!present)(`corpus (${dir})`, () => {
  it("has the files the manifest lists", () => {
    expect(files.length).toBe(171);
    expect(new Set(files)).toEqual(new Set(manifest.keys()));
  });

  it(
    "agrees with the manifest on validity, finds every site, and pins every managed one",
    { timeout: 120_000 },
    async () => {
      let valid = 0;
      let sites = 0;
      let pinned = 0;
      for (const file of files) {
        const text = readFileSync(path.join(dir, file), "utf8");
        const scan = await findImages(text);
        expect.soft(scan.ok, file).toBe(manifest.get(file)!.valid);
        if (!scan.ok) {
          expect.soft(scan.line, `${file}: invalid files are reported with a line`).toBeTypeOf("number");
          continue;
        }
        valid += 1;
        sites += scan.images.length;
        const managed = scan.images.filter((s) => s.managed);
        if (managed.length === 0) continue;
        const repos = [...new Set(managed.map((s) => repositoryOf(s.ref!)))];
        const targets: PinTarget[] = repos.map((repository) => ({
          repository,
          digest: digestFor(repository),
        }));
        const out = await pinImages(text, targets);
        pinned += out.edits.length;
        expect.soft(out.skipped, file).toEqual([]);

        const after = await findImages(out.text);
        if (!after.ok) throw new Error(`${file}: pinned text does not parse`);
        expect
          .soft(
            after.images.map((s) => s.line),
            file,
          )
          .toEqual(scan.images.map((s) => s.line));
        after.images.forEach((now, i) => {
          const old = scan.images[i]!;
          if (!old.managed) return expect.soft(now.reference, `${file}:${old.line}`).toBe(old.reference);
          expect.soft(now.ref?.digest, `${file}:${old.line}`).toBe(digestFor(repositoryOf(old.ref!)));
          expect.soft(repositoryOf(now.ref!), `${file}:${old.line}`).toBe(repositoryOf(old.ref!));
        });
        // Line endings, final newline and non-ASCII text come through untouched; only edited lines differ.
        expect.soft(count(out.text, /\r\n/g), file).toBe(count(text, /\r\n/g));
        expect.soft(out.text.endsWith("\n"), file).toBe(text.endsWith("\n"));
        expect.soft(count(out.text, /[^\p{ASCII}]/gu), file).toBe(count(text, /[^\p{ASCII}]/gu));
        const a = text.split("\n");
        const b = out.text.split("\n");
        expect.soft(b.length, file).toBe(a.length);
        expect.soft(a.filter((line, i) => line !== b[i]).length, file).toBe(out.edits.length);
      }
      expect({ valid, invalid: files.length - valid, sites, pinned }).toMatchInlineSnapshot(`
      {
        "invalid": 12,
        "pinned": 200,
        "sites": 223,
        "valid": 159,
      }
    `);
    },
  );
});
