// The screenshots in the README and docs/dashboard.md (scripts/screenshots.ts): the markdown renderer
// on the demo's real output, the committed images against what the demo renders now, and a real
// headless chromium shot.
import { readFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { findChromium, pngSize, screenshot } from "../../scripts/screenshots/chromium.js";
import { IMAGES_DIR, type Manifest, SCALE, pagesOf, sha256 } from "../../scripts/screenshots/images.js";
import { inline, markdownToHtml } from "../../scripts/screenshots/markdown.js";
import { PAGE_WIDTH, checkRunPage } from "../../scripts/screenshots/pages.js";
import { type DemoTexts, demoTexts } from "../../scripts/screenshots/scenario.js";

let texts: DemoTexts;
beforeAll(async () => {
  texts = await demoTexts();
}, 120_000);

describe("markdownToHtml on the demo's output", () => {
  it("renders the PR comment: marker hidden, table, folded unchanged list", () => {
    expect(markdownToHtml(texts.comment)).toMatchInlineSnapshot(`
      "<h3>1 image changed for <code>ef7c754</code></h3>
      <table>
      <thead><tr><th>service</th><th>digest</th><th>tag</th><th>job files</th><th>commits</th></tr></thead>
      <tbody>
      <tr><td>api</td><td><code>7c73a26bc34a</code> → <code>63a0cc22f82b</code></td><td><code>ef7c7547c37a2dbff03f65f7debf7135a1711e08</code></td><td><code>nomad/api.nomad.hcl</code></td><td>1</td></tr>
      </tbody>
      </table>
      <details><summary>2 unchanged</summary>
      <table>
      <thead><tr><th>service</th><th>digest</th><th>job files</th></tr></thead>
      <tbody>
      <tr><td>web</td><td><code>45241d23477d</code></td><td><code>nomad/web.nomad.hcl</code></td></tr>
      <tr><td>worker</td><td><code>0fe18ebc9c61</code></td><td><code>nomad/worker.nomad.hcl</code></td></tr>
      </tbody>
      </table>
      </details>
      "
    `);
  });

  it("renders the check run summary", () => {
    expect(texts.check.title).toBe("1 moved, 2 unchanged");
    expect(markdownToHtml(texts.check.summary)).toMatchInlineSnapshot(`
      "<p>Build <code>ef7c754</code> on <code>main</code>, tag <code>ef7c7547c37a2dbff03f65f7debf7135a1711e08</code>.</p>
      <table>
      <thead><tr><th>service</th><th>status</th><th>digest</th><th>note</th></tr></thead>
      <tbody>
      <tr><td>api</td><td>moved</td><td><code>7c73a26bc34a</code> → <code>63a0cc22f82b</code></td><td></td></tr>
      <tr><td>web</td><td>unchanged</td><td><code>45241d23477d</code></td><td></td></tr>
      <tr><td>worker</td><td>unchanged</td><td><code>0fe18ebc9c61</code></td><td></td></tr>
      </tbody>
      </table>
      "
    `);
  });

  it("renders the deploy dashboard: links, line breaks, task list, last moves", () => {
    expect(markdownToHtml(texts.dashboard.body)).toMatchInlineSnapshot(`
      "<h2>Deploy dashboard</h2>
      <p>Deploy branch <code>main</code> at <code>ef7c754</code>, last planned for build <code>ef7c754</code> on 2026-05-06 17:40 UTC.<br>
      Open deploy PR: <a href="https://github.com/acme/homelab/pull/7">#7</a> (1 image to deploy).</p>
      <table>
      <thead><tr><th>service</th><th>pinned on <code>main</code></th><th>built from</th><th>digest last moved</th><th>pending in <a href="https://github.com/acme/homelab/pull/7">#7</a></th></tr></thead>
      <tbody>
      <tr><td><strong>api</strong></td><td><code>7c73a26bc34a</code></td><td><code>949728a</code></td><td>2026-05-04 <code>b69f763</code></td><td>→ <code>ef7c754</code> <code>63a0cc22f82b</code></td></tr>
      <tr><td><strong>web</strong></td><td><code>45241d23477d</code></td><td>no deploy records it; set in <code>b69f763</code></td><td>2026-05-04 <code>b69f763</code></td><td>up to date</td></tr>
      <tr><td><strong>worker</strong></td><td><code>0fe18ebc9c61</code></td><td>no deploy records it; set in <code>b69f763</code></td><td>2026-05-04 <code>b69f763</code></td><td>up to date</td></tr>
      </tbody>
      </table>
      <h3>Ask the bot</h3>
      <ul class="tasks">
      <li class="task"><input type="checkbox" disabled> Plan again now (the deploy branch head, as if its build had just finished)</li>
      <li class="task"><input type="checkbox" disabled> Retag unchanged images now (adds the <code>retag</code> tags to every image whose digest did not move)</li>
      </ul>
      "
    `);
  });
});

describe("markdownToHtml on what the demo does not write", () => {
  it("escapes everything that is not the subset: text shows as text", () => {
    expect(markdownToHtml('a <script>alert("x")</script> & <b>b</b>')).toBe(
      "<p>a &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;b&lt;/b&gt;</p>\n",
    );
    // Only http(s) links are links; `<br>` is a line break outside code spans only.
    expect(inline("[x](javascript:alert(1)) `<br>` <br> **a|b** [`abc`](https://x.test/c)")).toBe(
      '[x](javascript:alert(1)) <code>&lt;br&gt;</code> <br> <strong>a|b</strong> <a href="https://x.test/c"><code>abc</code></a>',
    );
  });

  it("splits table cells on bars that are not escaped, and pads short rows", () => {
    expect(markdownToHtml("| a | b |\n|---|---|\n| x \\| y |\n")).toBe(
      [
        "<table>",
        "<thead><tr><th>a</th><th>b</th></tr></thead>",
        "<tbody>",
        "<tr><td>x | y</td><td></td></tr>",
        "</tbody>",
        "</table>",
        "",
      ].join("\n"),
    );
  });

  it("keeps fenced code verbatim and drops inline comments", () => {
    expect(markdownToHtml("```diff\n- **a** <!-- b -->\n```\ntext <!-- hidden --> after")).toBe(
      '<pre><code class="language-diff">- **a** &lt;!-- b --&gt;</code></pre>\n<p>text  after</p>\n',
    );
  });
});

describe("docs/images", () => {
  const manifest = manifestOnDisk();

  it("are shot from the pages the demo renders today (else: npm run screenshots)", () => {
    const pages = pagesOf(texts);
    expect(Object.keys(manifest).sort()).toEqual(pages.map((p) => p.name).sort());
    for (const page of pages) {
      // The page committed beside the PNG is today's (a readable diff when it is not)...
      expect(readFileSync(path.join(IMAGES_DIR, `${page.name}.html`), "utf8")).toBe(page.html);
      // ...and the PNG is the one the script recorded for exactly that page.
      const png = readFileSync(path.join(IMAGES_DIR, `${page.name}.png`));
      expect(manifest[page.name]).toEqual({
        page: sha256(page.html),
        png: sha256(png),
        ...pngSize(png),
      });
      expect(manifest[page.name]!.width).toBe(PAGE_WIDTH * SCALE);
    }
  });

  it("does not show the run's own commit ids, digests or registry port", () => {
    for (const text of [texts.comment, texts.check.summary, texts.dashboard.body]) {
      expect(text).not.toMatch(/127\.0\.0\.1:(?!5000)\d+/);
      for (const sha of text.match(/\b[0-9a-f]{40}\b/g) ?? [])
        expect([
          "949728aa379f6865a4f2f95232ac87868cfff6e7",
          "ef7c7547c37a2dbff03f65f7debf7135a1711e08",
        ]).toContain(sha);
    }
  });
});

// CI installs chromium (.ci/run: scripts/ensure-tools.mjs --chromium) and requires this test to run.
const chromium = await findChromium();
const required = process.env.NOMAD_GITOPS_REQUIRE_CHROMIUM === "1";

describe("headless chromium", () => {
  it("is on this machine when CI requires it", () => {
    expect(chromium !== null || !required).toBe(true);
  });

  it.skipIf(chromium === null)(
    "shoots the check run page to a PNG of the page's width and height",
    async () => {
      const shot = await screenshot(checkRunPage(texts.check), {
        chromium: chromium!,
        width: PAGE_WIDTH,
        scale: 1,
      });
      expect(pngSize(shot.png)).toEqual({ width: shot.width, height: shot.height });
      expect(shot.width).toBe(PAGE_WIDTH);
      // Header, title line, build line and a 4-row table: a few hundred pixels, not a cut-off window.
      expect(shot.height).toBeGreaterThan(250);
      expect(shot.height).toBeLessThan(1000);
    },
    120_000,
  );
});

describe("where the images are shown", () => {
  const root = path.join(IMAGES_DIR, "..", "..");
  const readme = readFileSync(path.join(root, "README.md"), "utf8");

  it("the README's first screen is one line and the PR comment and check run images", () => {
    const firstScreen = readme.slice(0, readme.indexOf("\n## "));
    expect(firstScreen).toContain('<img src="docs/images/pr-comment.png"');
    expect(firstScreen).toContain('<img src="docs/images/check-run.png"');
    expect(
      firstScreen.split("\n").filter((l) => l && !l.startsWith("#") && !l.startsWith("<")).length,
    ).toBeLessThan(8);
  });

  it("then the Action, the App and the CLI, and keeps the two commands of a fresh clone", () => {
    const sections = [...readme.matchAll(/^## (.*)$/gm)].map((m) => m[1]!);
    expect(sections.slice(0, 3)).toEqual(["Quick start: the GitHub Action", "The App", "The CLI"]);
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
      repository: { url: string };
    };
    const repo = /github\.com\/([^/]+\/[^/.]+)/.exec(pkg.repository.url)![1];
    expect(readme).toContain(`- uses: ${repo}@v1\n`);
    expect(readme).toContain("```sh\nnpm run demo\nnpm it\n```");
  });

  it("docs/dashboard.md shows the dashboard image, and every image is shown somewhere", () => {
    const dashboardDoc = readFileSync(path.join(root, "docs/dashboard.md"), "utf8");
    expect(dashboardDoc).toContain('<img src="images/dashboard.png"');
    for (const name of Object.keys(manifestOnDisk()))
      expect(readme + dashboardDoc).toContain(`images/${name}.png"`);
  });
});

function manifestOnDisk(): Manifest {
  return JSON.parse(readFileSync(path.join(IMAGES_DIR, "screenshots.json"), "utf8")) as Manifest;
}
