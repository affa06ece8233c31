// The pages the screenshots are taken of: the bot's markdown (markdown.ts) inside a frame that looks
// like where GitHub shows it (a PR conversation comment, the Checks tab, an issue). Self-contained: no
// external font, image or script is loaded, and the Content-Security-Policy says so to the browser.
// The one inline script measures the page so the screenshot is cut to its height (chromium.ts).
import { markdownToHtml } from "./markdown.js";

/** The width the pages are laid out at, in CSS pixels (GitHub's conversation column is about this). */
export const PAGE_WIDTH = 860;

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

// GitHub's light theme, approximately: its system font stack (Liberation Sans where none of them is
// installed), its greys and borders, its table and code-span styles.
const CSS = `
* { box-sizing: border-box; }
html { background: #ffffff; }
body { margin: 0; padding: 16px; width: ${PAGE_WIDTH}px; color: #1f2328; background: #ffffff;
  font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial,
  "Liberation Sans", sans-serif; }
a { color: #0969da; text-decoration: none; }
code, pre { font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono",
  monospace; }
.frame { border: 1px solid #d0d7de; border-radius: 6px; overflow: hidden; }
.frame-head { display: flex; align-items: center; gap: 8px; padding: 8px 16px; background: #f6f8fa;
  border-bottom: 1px solid #d0d7de; color: #59636e; }
.frame-head strong { color: #1f2328; }
.avatar { width: 20px; height: 20px; border-radius: 6px; background: #1a7f37; color: #fff;
  display: inline-flex; align-items: center; justify-content: center; font-size: 11px; font-weight: 600; }
.badge { border: 1px solid #d0d7de; border-radius: 2em; padding: 0 7px; font-size: 12px; font-weight: 500; }
.markdown-body { padding: 16px; word-wrap: break-word; }
.markdown-body > :first-child { margin-top: 0 !important; }
.markdown-body > :last-child { margin-bottom: 0 !important; }
.markdown-body p, .markdown-body ul, .markdown-body table, .markdown-body pre, .markdown-body details
  { margin-top: 0; margin-bottom: 16px; }
.markdown-body h1, .markdown-body h2, .markdown-body h3 { margin: 24px 0 16px; font-weight: 600;
  line-height: 1.25; }
.markdown-body h2 { font-size: 1.5em; padding-bottom: .3em; border-bottom: 1px solid #d1d9e0b3; }
.markdown-body h3 { font-size: 1.25em; }
.markdown-body hr { height: .25em; margin: 24px 0; padding: 0; background: #d1d9e0; border: 0; }
.markdown-body ul { padding-left: 2em; }
.markdown-body ul.tasks { list-style: none; padding-left: 0; }
.markdown-body li + li { margin-top: .25em; }
.markdown-body li.task input { margin: 0 .2em .25em 0; vertical-align: middle; }
.markdown-body code { padding: .2em .4em; font-size: 85%; white-space: break-spaces;
  background: #818b981f; border-radius: 6px; }
.markdown-body pre { padding: 16px; overflow: auto; font-size: 85%; line-height: 1.45;
  background: #f6f8fa; border-radius: 6px; }
.markdown-body pre code { padding: 0; background: transparent; font-size: 100%; }
.markdown-body table { border-spacing: 0; border-collapse: collapse; display: block; width: max-content;
  max-width: 100%; overflow: auto; }
.markdown-body th { font-weight: 600; }
.markdown-body th, .markdown-body td { padding: 6px 13px; border: 1px solid #d1d9e0; }
.markdown-body tbody tr:nth-child(2n) { background: #f6f8fa; }
.markdown-body summary { cursor: pointer; }
.check { display: flex; gap: 24px; }
.check-nav { width: 200px; flex: none; }
.check-nav .item { padding: 6px 8px; border-radius: 6px; background: #818b981a; font-weight: 600; }
.check-main { flex: 1; min-width: 0; }
.check-main h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; }
.check-main .title { margin: 0 0 16px; font-size: 16px; font-weight: 600; }
.status { display: inline-flex; width: 16px; height: 16px; border-radius: 50%; color: #fff;
  font-size: 11px; align-items: center; justify-content: center; }
.status.success { background: #1a7f37; }
.status.neutral { background: #59636e; }
.status.failure { background: #d1242f; }
.issue-title { margin: 0 0 8px; font-size: 26px; font-weight: 400; }
.issue-title span { color: #59636e; font-weight: 300; }
.state { display: inline-block; margin-bottom: 16px; padding: 4px 12px; border-radius: 2em;
  background: #1f883d; color: #fff; font-weight: 500; }
`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
<script>document.body.dataset.height = String(Math.ceil(document.documentElement.getBoundingClientRect().height));</script>
</body>
</html>
`;
}

const BOT = "nomad-gitops";

/** The sticky image comment, as the deploy PR's conversation shows it. */
export function commentPage(markdown: string): string {
  return page(
    "nomad-gitops: the PR comment",
    `<div class="frame">
<div class="frame-head"><span class="avatar">ng</span><strong>${BOT}</strong><span class="badge">bot</span><span>commented</span></div>
<div class="markdown-body">
${markdownToHtml(markdown)}</div>
</div>`,
  );
}

export interface CheckRunView {
  conclusion: "success" | "neutral" | "failure";
  title: string;
  summary: string;
}

const CONCLUSION_MARK = { success: "✓", neutral: "–", failure: "✕" } as const;

/** The `nomad-gitops` check run, as the commit's Checks tab shows its title and summary. */
export function checkRunPage(check: CheckRunView): string {
  const mark = `<span class="status ${check.conclusion}">${CONCLUSION_MARK[check.conclusion]}</span>`;
  return page(
    "nomad-gitops: the check run",
    `<div class="frame">
<div class="frame-head">${mark}<strong>${BOT}</strong><span>${escapeHtml(check.conclusion)}</span></div>
<div class="markdown-body check">
<div class="check-nav"><div class="item">${mark} ${BOT}</div></div>
<div class="check-main">
<h1>${BOT}</h1>
<p class="title">${escapeHtml(check.title)}</p>
${markdownToHtml(check.summary)}</div>
</div>
</div>`,
  );
}

/** The deploy dashboard issue: its title, number and the body the bot keeps. */
export function issuePage(issue: { title: string; number: number; body: string }): string {
  return page(
    "nomad-gitops: the deploy dashboard",
    `<h1 class="issue-title">${escapeHtml(issue.title)} <span>#${issue.number}</span></h1>
<div class="state">Open</div>
<div class="frame">
<div class="frame-head"><span class="avatar">ng</span><strong>${BOT}</strong><span class="badge">bot</span><span>opened this issue</span></div>
<div class="markdown-body">
${markdownToHtml(issue.body)}</div>
</div>`,
  );
}
