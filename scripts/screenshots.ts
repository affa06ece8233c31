// `npm run screenshots`: runs the demo's scenario, renders its PR comment, check run and the deploy
// dashboard as GitHub shows them, and takes headless chromium screenshots into docs/images/ (only of
// the pages that changed; --force re-shoots all). test/docs/screenshots.test.ts fails when they are stale.
import { parseArgs } from "node:util";
import { findChromium } from "./screenshots/chromium.js";
import { pagesOf, updateScreenshots } from "./screenshots/images.js";
import { demoTexts } from "./screenshots/scenario.js";

const { values } = parseArgs({ options: { force: { type: "boolean", default: false } } });
const chromium = await findChromium();
if (chromium === null) {
  console.error("screenshots: no chromium on PATH (Debian: apt-get install chromium; or set CHROMIUM)");
  process.exit(1);
}
const results = await updateScreenshots(pagesOf(await demoTexts()), { chromium, force: values.force });
for (const r of results)
  console.log(`docs/images/${r.name}.png ${r.width}×${r.height} ${r.shot ? "written" : "up to date"}`);
