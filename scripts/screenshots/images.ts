// The committed screenshots (docs/images/): for each, the page it was taken of (NAME.html, kept beside
// the PNG so a review sees what changed) and, in screenshots.json, the SHA-256 of that page and of the
// PNG. A PNG's bytes depend on the chromium build and its fonts, so they are not compared with a new
// shot; instead the drift test checks that each PNG is the one recorded for its page, and that the page
// is what the demo renders today. `npm run screenshots` re-shoots only the pages that changed.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { screenshot } from "./chromium.js";
import { PAGE_WIDTH, checkRunPage, commentPage, issuePage } from "./pages.js";
import type { DemoTexts } from "./scenario.js";

export const IMAGES_DIR = fileURLToPath(new URL("../../docs/images/", import.meta.url));
export const MANIFEST = path.join(IMAGES_DIR, "screenshots.json");
/** Device pixels per CSS pixel: sharp on high-density screens, shown at half size in the docs. */
export const SCALE = 2;

export interface Page {
  name: string;
  html: string;
}

export const pagesOf = (texts: DemoTexts): Page[] => [
  { name: "pr-comment", html: commentPage(texts.comment) },
  { name: "check-run", html: checkRunPage(texts.check) },
  { name: "dashboard", html: issuePage(texts.dashboard) },
];

export interface ManifestEntry {
  /** sha256: of NAME.html, the page the PNG was taken of. */
  page: string;
  /** sha256: of NAME.png. */
  png: string;
  width: number;
  height: number;
}
export type Manifest = Record<string, ManifestEntry>;

export const sha256 = (data: string | Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

export async function readManifest(): Promise<Manifest> {
  const text = await readFile(MANIFEST, "utf8").catch(() => "{}");
  return JSON.parse(text) as Manifest;
}

/**
 * Writes NAME.html for every page and shoots those whose page or PNG is not the one recorded (all with
 * `force`); returns what it did per page.
 */
export async function updateScreenshots(
  pages: Page[],
  options: { chromium: string; force: boolean },
): Promise<Array<{ name: string; shot: boolean; width: number; height: number }>> {
  const manifest = await readManifest();
  const next: Manifest = {};
  const done = [];
  for (const page of pages) {
    const html = path.join(IMAGES_DIR, `${page.name}.html`);
    const png = path.join(IMAGES_DIR, `${page.name}.png`);
    const recorded = manifest[page.name];
    const current = await readFile(png).catch(() => null);
    if (
      !options.force &&
      recorded &&
      recorded.page === sha256(page.html) &&
      current !== null &&
      recorded.png === sha256(current)
    ) {
      next[page.name] = recorded;
      done.push({ name: page.name, shot: false, width: recorded.width, height: recorded.height });
      continue;
    }
    const shot = await screenshot(page.html, { chromium: options.chromium, width: PAGE_WIDTH, scale: SCALE });
    await writeFile(html, page.html);
    await writeFile(png, shot.png);
    next[page.name] = {
      page: sha256(page.html),
      png: sha256(shot.png),
      width: shot.width,
      height: shot.height,
    };
    done.push({ name: page.name, shot: true, width: shot.width, height: shot.height });
  }
  await writeFile(MANIFEST, `${JSON.stringify(next, null, 2)}\n`);
  return done;
}
