// Multi-MB job files: scanned in pieces (one piece's tree in memory at a time), pinned byte for byte,
// each edit still proven by HashiCorp's parser on the item that holds it, and a size bound.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_JOB_FILE_BYTES, analyzeJobFile, findImages } from "../../src/jobfile/jobfile.js";
import { layoutOf } from "../../src/jobfile/layout.js";
import { parseTree } from "../../src/jobfile/parse.js";
import { LARGE_FILE_CHARS, scanInPieces } from "../../src/jobfile/pieces.js";
import { PinVerificationError, pinImages } from "../../src/jobfile/pin.js";
import { Scanner } from "../../src/jobfile/scanner.js";
import { verifyPin } from "../../src/jobfile/verify.js";
import { largeJobFile } from "../helpers/large-jobfile.js";

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
/** The file's sites read from one tree, the way a small file is read. */
async function scannedWhole(text: string) {
  const tree = await parseTree(text);
  try {
    return new Scanner(text).scan(tree.rootNode);
  } finally {
    tree.delete();
  }
}

describe("a multi-MB job file", () => {
  const big = largeJobFile(0.7 * 1024 * 1024);

  it("is read in pieces, finding exactly what one tree finds", async () => {
    expect(big.text.length).toBeGreaterThan(LARGE_FILE_CHARS);
    const layout = layoutOf(big.text, 256 * 1024)!;
    expect(layout.pieces.length).toBeGreaterThan(2);
    const pieces = await scanInPieces(big.text, new Scanner(big.text));
    expect(pieces).not.toBeNull();
    expect(pieces!.sites).toEqual(await scannedWhole(big.text));
    // two sites a group: its own image and a sidecar through a shared variable or local
    expect(pieces!.sites).toHaveLength(big.repositories.length * 2);
  });

  it("pins only the targeted literals, every other byte unchanged", async () => {
    const picked = [3, 150, big.repositories.length - 1];
    const targets = picked.map((i) => ({ repository: big.repositories[i]!, digest: digest(i) }));
    const out = await pinImages(big.text, targets, { style: "tag+digest" });
    let expected = big.text;
    for (const i of picked) {
      const from = `image = "registry.example/app-${i}:1.${i}.0"`;
      expect(expected.split(from)).toHaveLength(2);
      expected = expected.replace(from, `image = "registry.example/app-${i}:1.${i}.0@${digest(i)}"`);
    }
    expect(out.text === expected).toBe(true);
    expect(out.edits.map((e) => e.after)).toEqual(
      picked.map((i) => `registry.example/app-${i}:1.${i}.0@${digest(i)}`),
    );
  });

  it("pins a variable read by hundreds of sidecars once, in its default", async () => {
    const out = await pinImages(big.text, [{ repository: "registry.example/sidecar", digest: digest(1) }]);
    expect(out.edits).toHaveLength(Math.ceil(big.repositories.length / 2));
    expect(out.text).toBe(
      big.text.replace(
        `default = "registry.example/sidecar:1.4.2"`,
        `default = "registry.example/sidecar@${digest(1)}"`,
      ),
    );
  });

  it("[fault:jobfile-large-referee] still has every edit proven by HashiCorp's parser: a group it rejects is not edited", async () => {
    // tree-sitter accepts an attribute set twice; HashiCorp's parser does not.
    const marker = `  group "g150" {\n    count = 1\n`;
    expect(big.text.includes(marker)).toBe(true);
    const broken = big.text.replace(marker, `${marker}    count = 2\n`);
    expect((await findImages(broken)).ok).toBe(true);
    const error = await pinImages(broken, [{ repository: big.repositories[150]!, digest: digest(1) }]).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PinVerificationError);
    expect((error as Error).message).toBe(
      "pin verification failed: HashiCorp's parser rejects the block that holds the edit",
    );
    // The edit in another group is proven on that group, which HashiCorp's parser accepts.
    const other = await pinImages(broken, [{ repository: big.repositories[3]!, digest: digest(3) }]);
    expect(other.edits).toHaveLength(1);
  });

  it("rejects an edit whose item reads no differently in HashiCorp's parser than before", async () => {
    const analysis = await analyzeJobFile(big.text);
    if (!analysis.ok) throw new Error(analysis.error);
    expect(analysis.items!.length).toBeGreaterThan(big.repositories.length);
    const site = analysis.sites.find((s) => s.reference === "registry.example/app-7:1.7.0")!;
    const edit = site.edit!;
    // A splice that writes what was there: every other check passes, the referee counts no change.
    const splice = { start: edit.start, end: edit.end, from: edit.text, to: edit.text, file: null };
    const check = verifyPin({
      before: big.text,
      after: big.text,
      sites: analysis.sites,
      semantic: analysis.semantic,
      items: analysis.items!,
      expected: new Map(),
      splices: [splice],
    });
    await expect(check).rejects.toThrow(
      /1 values edited, 0 changed in the parsed file in the block at line \d+/,
    );
  });
});

describe("the outline of real job files", () => {
  const dir = path.resolve(process.cwd(), "../shared/corpus/nomad");
  const files = (() => {
    try {
      return readdirSync(dir).filter((f) => f.endsWith(".hcl") || f.endsWith(".nomad"));
    } catch {
      return [];
    }
  })();

  it.skipIf(files.length === 0)(
    "cut into tiny pieces, every valid corpus file scans as one tree does",
    async () => {
      let compared = 0;
      for (const file of files) {
        const text = readFileSync(path.join(dir, file), "utf8");
        const pieces = await scanInPieces(text, new Scanner(text), 64);
        if (!pieces) continue;
        expect({ file, sites: pieces.sites }).toEqual({ file, sites: await scannedWhole(text) });
        compared++;
      }
      expect(compared).toBeGreaterThan(140);
    },
  );
});

describe("the job-file size bound", () => {
  it("[fault:jobfile-too-large] refuses a larger file before parsing it, saying how large it is and what the bound is", async () => {
    const line = `# ${"x".repeat(1021)}\n`;
    const text = line.repeat(MAX_JOB_FILE_BYTES / 1024 + 1);
    const scan = await findImages(text);
    expect(scan).toEqual({
      ok: false,
      error:
        "the file is 8193 KiB; a job file may be at most 8192 KiB (8 MiB): split it into several job files",
      line: null,
      images: [],
    });
  });
});
