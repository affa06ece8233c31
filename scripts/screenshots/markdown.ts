// Markdown → HTML for the subset the bot writes (render.ts, dashboard.ts): headings, paragraphs, GFM
// tables with `\|` escapes, flat and task lists, fenced code, `---`, `<details>`/`<summary>`, `<br>`
// and hidden `<!-- -->` markers; inline code, **bold**, _italic_ and [links](https://…). GitHub's own
// renderer is the reference: what it hides (comments) is dropped, soft line breaks in a paragraph are
// kept as `<br>` as in comments and issues. Every other character of the input is escaped, so the page
// shows text, never markup the bot did not mean.

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** Text outside code spans: comments dropped, escaped, then the few inline forms we write. */
function inlineText(text: string): string {
  return escapeHtml(text.replace(/<!--[\s\S]*?-->/g, ""))
    .replace(/&lt;br\s*\/?&gt;/g, "<br>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, (_m, label: string, url: string) => {
      return `<a href="${url}">${label}</a>`;
    })
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[\s(])_([^_]+)_(?=$|[\s).,:;!?])/g, "$1<em>$2</em>");
}

/** A line's inline markdown; code spans are taken out first, so nothing inside them is interpreted. */
export function inline(text: string): string {
  let out = "";
  let rest = text;
  for (;;) {
    const open = rest.indexOf("`");
    const close = open < 0 ? -1 : rest.indexOf("`", open + 1);
    if (close < 0) return out + inlineText(rest);
    // A link whose label is a code span: [`abc1234`](url).
    const linked = /^\[`([^`]+)`\]\((https?:\/\/[^)\s]+)\)/.exec(rest.slice(open - 1));
    if (open > 0 && rest[open - 1] === "[" && linked) {
      out += `${inlineText(rest.slice(0, open - 1))}<a href="${linked[2]}"><code>${escapeHtml(linked[1]!)}</code></a>`;
      rest = rest.slice(open - 1 + linked[0].length);
      continue;
    }
    out += `${inlineText(rest.slice(0, open))}<code>${escapeHtml(rest.slice(open + 1, close))}</code>`;
    rest = rest.slice(close + 1);
  }
}

/** The cells of a table row, split on `|` that are not escaped (`\|` is a literal bar). */
function cells(line: string): string[] {
  const body = line.trim().replace(/^\|/, "").replace(/\|$/, "");
  const out: string[] = [];
  let cell = "";
  for (let i = 0; i < body.length; i += 1) {
    if (body[i] === "\\" && body[i + 1] === "|") {
      cell += "|";
      i += 1;
    } else if (body[i] === "|") {
      out.push(cell.trim());
      cell = "";
    } else cell += body[i];
  }
  out.push(cell.trim());
  return out;
}

const isTableStart = (line: string, next: string | undefined) =>
  line.trimStart().startsWith("|") &&
  next !== undefined &&
  /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(next);

const LIST_ITEM = /^\s*[-*] (.*)$/;
const TASK = /^\[([ xX])\] (.*)$/;

function listItem(text: string): string {
  const task = TASK.exec(text);
  if (!task) return `<li>${inline(text).trim()}</li>`;
  const checked = task[1] !== " " ? " checked" : "";
  // The bot's boxes start with a hidden marker: what is left of it is no text.
  return `<li class="task"><input type="checkbox" disabled${checked}> ${inline(task[2]!).trim()}</li>`;
}

export function markdownToHtml(markdown: string): string {
  const lines = markdown.replace(/\r\n/g, "\n").split("\n");
  const out: string[] = [];
  let paragraph: string[] = [];
  const flush = () => {
    if (paragraph.length > 0) out.push(`<p>${paragraph.map(inline).join("<br>\n")}</p>`);
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    const trimmed = line.trim();
    if (trimmed === "") {
      flush();
      continue;
    }
    // A marker on its own line (<!-- nomad-gitops:images -->): GitHub shows nothing.
    if (/^<!--[\s\S]*-->$/.test(trimmed)) {
      flush();
      continue;
    }
    const details = /^<details>(?:<summary>(.*)<\/summary>)?$/.exec(trimmed);
    if (details) {
      flush();
      out.push(details[1] === undefined ? "<details>" : `<details><summary>${inline(details[1])}</summary>`);
      continue;
    }
    if (trimmed === "</details>") {
      flush();
      out.push("</details>");
      continue;
    }
    const heading = /^(#{1,6}) (.*)$/.exec(trimmed);
    if (heading) {
      flush();
      const level = heading[1]!.length;
      out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
      continue;
    }
    if (/^(-{3,}|\*{3,})$/.test(trimmed)) {
      flush();
      out.push("<hr>");
      continue;
    }
    if (trimmed.startsWith("```")) {
      flush();
      const lang = trimmed.slice(3).trim();
      const body: string[] = [];
      for (i += 1; i < lines.length && !lines[i]!.trim().startsWith("```"); i += 1) body.push(lines[i]!);
      const cls = lang ? ` class="language-${escapeHtml(lang)}"` : "";
      out.push(`<pre><code${cls}>${escapeHtml(body.join("\n"))}</code></pre>`);
      continue;
    }
    if (isTableStart(line, lines[i + 1])) {
      flush();
      const head = cells(line);
      const rows: string[][] = [];
      for (i += 2; i < lines.length && lines[i]!.trimStart().startsWith("|"); i += 1)
        rows.push(cells(lines[i]!));
      i -= 1;
      out.push(
        "<table>",
        `<thead><tr>${head.map((c) => `<th>${inline(c)}</th>`).join("")}</tr></thead>`,
        "<tbody>",
        ...rows.map((r) => `<tr>${head.map((_h, n) => `<td>${inline(r[n] ?? "")}</td>`).join("")}</tr>`),
        "</tbody>",
        "</table>",
      );
      continue;
    }
    if (LIST_ITEM.test(line)) {
      flush();
      const items: string[] = [];
      for (; i < lines.length && LIST_ITEM.test(lines[i]!); i += 1)
        items.push(LIST_ITEM.exec(lines[i]!)![1]!);
      i -= 1;
      const tasks = items.some((item) => TASK.test(item)) ? ' class="tasks"' : "";
      out.push(`<ul${tasks}>`, ...items.map(listItem), "</ul>");
      continue;
    }
    paragraph.push(trimmed);
  }
  flush();
  return `${out.join("\n")}\n`;
}
