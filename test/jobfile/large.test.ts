// Multi-MB job files: scanned in pieces (one piece's tree in memory at a time), pinned byte for byte,
// each edit still proven by HashiCorp's parser on the item that holds it, and a size bound.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_JOB_FILE_BYTES, analyzeJobFile, findImages } from "../../src/jobfile/jobfile.js";
import { layoutOf } from "../../src/jobfile/layout.js";
import { parseTree } from "../../src/jobfile/parse.js";
import { LARGE_FILE_CHARS, parsePiece, rescanEdited, scanInPieces } from "../../src/jobfile/pieces.js";
import { lineStarts } from "../../src/jobfile/lines.js";
import { PinVerificationError, applySplices, pinImages } from "../../src/jobfile/pin.js";
import { Scanner } from "../../src/jobfile/scanner.js";
import { type Splice, verifyPin, written } from "../../src/jobfile/verify.js";
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

describe("heredoc bodies a piece's parse leaves out", () => {
  const text = [
    `job "j" {`,
    `  group "g" {`,
    `    task "t" {`,
    `      template {`,
    `        data = <<EOF`,
    `{{ key "a" }} $ % 100% {}`,
    `EOF`,
    `      }`,
    `      template {`,
    `        data = <<-EOT`,
    `        port = \${NOMAD_PORT_http}`,
    `        EOT`,
    `      }`,
    `      env {`,
    `        A = <<EOF`,
    `EOFX is not its end`,
    `EOF`,
    `      }`,
    `    }`,
    `  }`,
    `}`,
    ``,
  ].join("\n");

  it("are the plain ones only: no interpolation, no line before the last starting with the marker", () => {
    const layout = layoutOf(text, 64)!;
    const bodies = layout.pieces.flatMap((p) => p.heredocs).map((h) => text.slice(h.start, h.end));
    expect(bodies).toEqual([`{{ key "a" }} $ % 100% {}\n`]);
  });

  it("are read after all when tree-sitter does not close the heredoc where the outline does", async () => {
    const piece = layoutOf(text, 1 << 20)!.pieces[0]!;
    const starts = lineStarts(text);
    const skipped = await parsePiece(text, piece, starts);
    const literal = (t: typeof skipped) =>
      t.rootNode.descendantsOfType("template_literal").map((n) => n!.text);
    expect(literal(skipped)).not.toContain(`{{ key "a" }} $ % 100% {}`);
    skipped.delete();
    // An outline that puts the closing marker one character off: the piece is read whole.
    const wrong = { ...piece, heredocs: piece.heredocs.map((h) => ({ ...h, close: h.close + 1 })) };
    const whole = await parsePiece(text, wrong, starts);
    expect(literal(whole)).toContain(`{{ key "a" }} $ % 100% {}`);
    whole.delete();
  });
});

describe("a multi-MB job file, edited", () => {
  const big = largeJobFile(0.7 * 1024 * 1024);
  const read = async (text: string) => {
    const analysis = await analyzeJobFile(text);
    if (!analysis.ok) throw new Error(analysis.error);
    return analysis;
  };
  const spliceOf = async (text: string, reference: string, to: string): Promise<Splice> => {
    const edit = (await read(text)).sites.find((s) => s.reference === reference)!.edit!;
    return { start: edit.start, end: edit.end, from: edit.text, to, file: null };
  };
  const replaced = (s: Splice) => ({ start: s.start, end: s.end, by: written(s).length - (s.end - s.start) });

  it("is re-read only where it was edited, finding what a read of the whole edited file finds", async () => {
    const before = await read(big.text);
    const splices = await Promise.all(
      [5, 151].map((i) =>
        spliceOf(
          big.text,
          `registry.example/app-${i}:1.${i}.0`,
          `registry.example/app-${i}:1.${i}.0@${digest(i)}`,
        ),
      ),
    );
    const after = applySplices(big.text, null, splices);
    const again = await rescanEdited(before.pieces!, big.text, after, splices.map(replaced));
    expect(again).not.toBeNull();
    const whole = await scannedWhole(after);
    expect(again).toEqual(whole);
    expect(
      again!.filter((s, i) => s.reference !== before.sites[i]!.reference).map((s) => s.reference),
    ).toEqual([
      `registry.example/app-5:1.5.0@${digest(5)}`,
      `registry.example/app-151:1.151.0@${digest(151)}`,
    ]);
  });

  it("adopts what the first read found in the pieces no edit is in, instead of parsing them again", async () => {
    const before = await read(big.text);
    const splice = await spliceOf(big.text, "registry.example/app-5:1.5.0", "registry.example/app-5:2.0");
    const after = applySplices(big.text, null, [splice]);
    // Mark a site of the last piece in the first read's findings: a re-read that parsed that piece
    // again would not see the mark.
    const parts = before.pieces!.parts;
    const last = parts[parts.length - 1]!;
    const marked = { ...last.found[0]!, site: { ...last.found[0]!.site, task: "marked" } };
    const state = {
      ...before.pieces!,
      parts: [...parts.slice(0, -1), { ...last, found: [marked, ...last.found.slice(1)] }],
    };
    const again = await rescanEdited(state, big.text, after, [replaced(splice)]);
    expect(again!.filter((s) => s.task === "marked")).toHaveLength(1);
    expect(again!.find((s) => s.task === "marked")!.line).toBe(marked.site.line);
  });

  it("is read whole again when an edit is among the variables, or adds a line", async () => {
    const before = await read(big.text);
    const sidecar = await spliceOf(
      big.text,
      "registry.example/sidecar:1.4.2",
      `registry.example/sidecar@${digest(1)}`,
    );
    const inDefinitions = applySplices(big.text, null, [sidecar]);
    expect(await rescanEdited(before.pieces!, big.text, inDefinitions, [replaced(sidecar)])).toBeNull();
    const app = await spliceOf(big.text, "registry.example/app-5:1.5.0", "x");
    const lined = { ...app, to: "registry.example/app-5:1.5.0\n", heredoc: true };
    const withLine = applySplices(big.text, null, [lined]);
    expect(await rescanEdited(before.pieces!, big.text, withLine, [replaced(lined)])).toBeNull();
  });

  it("[fault:jobfile-large-edit-breaks] refuses an edit that breaks the file where it was made", async () => {
    const before = await read(big.text);
    // A splice that writes quotes into a quoted string raw (as a heredoc line is written): the
    // literal ends early and the line no longer parses. Nothing else of the file changed.
    const app = await spliceOf(big.text, "registry.example/app-150:1.150.0", "x");
    const breaking: Splice = { ...app, to: `registry.example/app-150" = "1`, heredoc: true };
    const after = applySplices(big.text, null, [breaking]);
    // The piece it is in no longer parses on its own: the whole file is read for the verdict.
    expect(await rescanEdited(before.pieces!, big.text, after, [replaced(breaking)])).toBeNull();
    const check = verifyPin({
      before: big.text,
      after,
      sites: before.sites,
      semantic: before.semantic,
      items: before.items!,
      pieces: before.pieces!,
      expected: new Map(),
      splices: [breaking],
    });
    await expect(check).rejects.toThrow(
      /^pin verification failed: the edited file no longer parses: not valid HCL2: syntax error/,
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
  it("[fault:varfile-too-large] refuses a var file over 1 MiB before parsing it, naming it and the bound", async () => {
    const job =
      'variable "image" {\n  type = string\n}\n\njob "web" {\n  group "g" {\n    task "t" {\n      driver = "docker"\n      config {\n        image = var.image\n      }\n    }\n  }\n}\n';
    const line = `# ${"x".repeat(1021)}\n`;
    const huge = { path: "deploy/web.vars.hcl", text: `image = "ghcr.io/acme/web:1"\n${line.repeat(1024)}` };
    const scan = await findImages(job, { varFiles: [huge] });
    expect(scan).toEqual({
      ok: false,
      error: "var file deploy/web.vars.hcl is 1025 KiB; a var file may be at most 1024 KiB",
      line: null,
      images: [],
    });
    // Just under the bound, the same file is read and its value used.
    const small = { ...huge, text: `image = "ghcr.io/acme/web:1"\n${line.repeat(1000)}` };
    const read = await findImages(job, { varFiles: [small] });
    expect(read.ok).toBe(true);
    expect(read.images.map((i) => [i.reference, i.literal?.file])).toEqual([
      ["ghcr.io/acme/web:1", "deploy/web.vars.hcl"],
    ]);
  });

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
