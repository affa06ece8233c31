// Edits made ahead (core/edits.ts: editAhead): a deploy makes and proves a moved file's edit while the
// other lookups run; step 4 (editJobFiles) keeps it only where it would make the same edit of the same
// text, and makes its own otherwise, or where the edit ahead failed or was not made.
import { describe, expect, it } from "vitest";
import { discoverServices } from "../../src/core/discovery.js";
import { type EditAhead, editAhead, editJobFiles } from "../../src/core/edits.js";
import { plan } from "../../src/core/plan.js";
import { findImages } from "../../src/jobfile/jobfile.js";
import type { PinOutcome } from "../../src/jobfile/pin.js";
import { NEW_SHA, config, digest, fixtureFiles } from "./fixture.js";

const files = fixtureFiles();
const cfg = config("registry: ghcr.io/acme/platform\n");
const scanned = await Promise.all(
  [...files]
    .filter(([p]) => p.endsWith(".hcl"))
    .map(async ([path, text]) => ({ path, scan: await findImages(text) })),
);
const built = (d: string) => ({ status: "built" as const, digest: d, tag: NEW_SHA, source: `x:${NEW_SHA}` });
const moved = plan({
  config: cfg,
  build: { sha: NEW_SHA, branch: "main" },
  discovery: discoverServices(cfg, scanned),
  resolved: { kiwi: built(digest("e")) },
});
const KIWI = "nomad/kiwi.nomad.hcl";
const kiwiTarget = { repository: "ghcr.io/acme/platform/kiwi", digest: digest("e"), tag: NEW_SHA };
/** A made-up outcome no engine would produce: seen in the result only if step 4 kept the edit ahead. */
const marked: PinOutcome = { text: "# made ahead\n", edits: [], skipped: [], varFiles: new Map() };
const ahead = (over: Partial<EditAhead> = {}): Map<string, EditAhead> =>
  new Map([
    [KIWI, { text: files.get(KIWI)!, targets: [kiwiTarget], outcome: Promise.resolve(marked), ...over }],
  ]);
const kiwiAfter = async (given: Map<string, EditAhead>) =>
  (await editJobFiles(cfg, moved, files, new Map(), new Map(), given)).files.find((f) => f.path === KIWI)
    ?.after;

describe("edits made ahead", () => {
  it("step 4 keeps the edit ahead where it is the same edit of the same text", async () => {
    const own = await kiwiAfter(new Map());
    expect(own).toContain(`@${digest("e")}`);
    expect(await kiwiAfter(ahead())).toBe(marked.text);
  });

  it("another target, another text, or var files: step 4 makes its own edit", async () => {
    const own = await kiwiAfter(new Map());
    expect(await kiwiAfter(ahead({ targets: [{ ...kiwiTarget, digest: digest("c") }] }))).toBe(own);
    expect(await kiwiAfter(ahead({ targets: [{ ...kiwiTarget, tag: "other" }] }))).toBe(own);
    expect(await kiwiAfter(ahead({ targets: [kiwiTarget, kiwiTarget] }))).toBe(own);
    expect(await kiwiAfter(ahead({ text: `${files.get(KIWI)!}\n` }))).toBe(own);
    // A job file read with var files is pinned against them: an edit ahead has none.
    const varFiles = new Map([[KIWI, ["nomad/kiwi.vars.hcl"]]]);
    const withVars = await editJobFiles(cfg, moved, files, varFiles, new Map(), ahead());
    expect(withVars.files.find((f) => f.path === KIWI)?.after).not.toBe(marked.text);
  });

  it("an edit ahead that failed, or was not made, is made again by step 4", async () => {
    const own = await kiwiAfter(new Map());
    const failed = Promise.reject(new Error("the referee's thread died"));
    failed.catch(() => {});
    expect(await kiwiAfter(ahead({ outcome: failed }))).toBe(own);
    expect(await kiwiAfter(ahead({ outcome: Promise.resolve(undefined) }))).toBe(own);
  });

  it("is made only once the referee has loaded, and not at all where it did not load", async () => {
    let load!: (ok: boolean) => void;
    const loaded = new Promise<boolean>((resolve) => (load = resolve));
    const file = { path: KIWI, text: files.get(KIWI)!, targets: [kiwiTarget], read: undefined };
    const made = editAhead(cfg, file, loaded);
    let settled = false;
    void made.outcome.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false);
    load(true);
    expect((await made.outcome)?.text).toBe(await kiwiAfter(new Map()));
    expect(await editAhead(cfg, file, Promise.resolve(false)).outcome).toBeUndefined();
  });
});
