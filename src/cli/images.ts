import { parseArgs } from "node:util";
import { describeError, readJobFile } from "../workspace/files.js";
import { readPackTemplate, readVarFiles } from "../workspace/varfiles.js";
import { type ImageSite, type VarFile, findImages, publicSite } from "../jobfile/jobfile.js";
import { analyzePackTemplate, packVariablesFile } from "../jobfile/pack.js";
import { prepareReferee } from "../jobfile/parse.js";
import { mapLimit } from "../core/concurrency.js";
import { type CliIO, type Command, EXIT, UsageError } from "./io.js";

/** From this many files on, the referee runs in a worker thread beside the scan. */
const REFEREE_THREAD_FROM = 4;
/** Files read and scanned while the referee reads earlier ones. */
const IN_FLIGHT = 8;

const usage = `usage: nomad-gitops-bot images [--json] [--strict] [--var-file FILE]... FILE...

Lists the container images of Nomad job files: job, group, task, line, the reference, and whether
\`pin\` can edit it (and if not, which case it is and what would make it pinnable).

  --var-file FILE  values for variables (\`name = value\`), after <job>.vars.hcl beside each job file
                   (for a Nomad Pack template: values files over its pack's variables.hcl)
  --strict         also ask HashiCorp's HCL parser itself (hcl2-parser, the referee \`pin\`, \`plan\` and
                   \`apply\` prove every edit with) whether each file is valid; slower (~1 ms a small file)
  --fast           the default, kept for scripts that pass it: tree-sitter and the rules HashiCorp's
                   parser adds to the grammar (where a newline ends an attribute or a block, one
                   attribute per one-line block, no line break in a quoted string, no attribute set
                   twice), which agree with hashicorp/hcl on the corpus and on fuzzed mutations of it
  --json           print {"files":[{"file","ok","error"?,"images":[{"job","group","task","line","reference",
                   "managed","reason"?,"kind"?,"hint"?,"literal"?,"shared"?}]}]}`;

interface FileReport {
  file: string;
  ok: boolean;
  error?: string;
  images: Array<
    Pick<
      ImageSite,
      | "job"
      | "group"
      | "task"
      | "line"
      | "reference"
      | "managed"
      | "reason"
      | "kind"
      | "hint"
      | "literal"
      | "shared"
    >
  >;
}

/** A report plus where its error is, for `file:line: message` on stderr. */
type Result = { report: FileReport; where: string };

export const command: Command = {
  summary: "List the container images of Nomad job files, with job, group, task and line.",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: {
          json: { type: "boolean", default: false },
          "var-file": { type: "string", multiple: true, default: [] },
          strict: { type: "boolean", default: false },
          fast: { type: "boolean", default: false },
        },
        allowPositionals: true,
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const files = parsed.positionals;
    if (files.length === 0) throw new UsageError("no job files given");

    const named = parsed.values["var-file"];
    // A file is "ok" when HashiCorp's parser would read it, as Nomad does. Nothing is edited here, so
    // nothing needs the referee's proof: tree-sitter and the rules decide (scripts/fuzz-verdicts.ts
    // measures their agreement with hashicorp/hcl), and --strict asks the referee as well.
    if (parsed.values.fast && parsed.values.strict)
      throw new UsageError("--fast and --strict exclude each other");
    const strict = parsed.values.strict;
    // Many files: the referee compiles and reads in its own thread while this one reads and scans the
    // next files (a few in flight), so the two parsers share the machine's CPUs instead of taking turns.
    const overlap = strict && files.length >= REFEREE_THREAD_FROM;
    if (overlap) prepareReferee();
    const results = await mapLimit(files, overlap ? IN_FLIGHT : 1, async (file) =>
      report(file, await readInput(file, named), strict),
    );
    const reports = results.map((r) => r.report);

    if (parsed.values.json) {
      io.out(`${JSON.stringify({ files: reports }, null, 2)}\n`);
    } else {
      io.out(table(reports));
    }
    for (const { report, where } of results) {
      if (!report.ok) io.err(`${where}: ${report.error!.replace(/^line \d+: /, "")}\n`);
    }
    return reports.every((r) => r.ok) ? EXIT.ok : EXIT.partial;
  },
};

type Input = { text: string; varFiles: VarFile[] } | { error: string };

async function readInput(file: string, named: string[]): Promise<Input> {
  try {
    return { text: await readJobFile(file), varFiles: await readVarFiles(file, named) };
  } catch (error) {
    return { error: describeError(error) };
  }
}

async function report(file: string, input: Input, strict: boolean): Promise<Result> {
  if ("error" in input) {
    return { report: { file, ok: false, error: input.error, images: [] }, where: file };
  }
  const { text, varFiles } = input;
  if (packVariablesFile(file) !== null) return packReport(file, text, varFiles, strict);
  const scan = await findImages(text, { varFiles, strict, hclRules: true });
  if (!scan.ok) {
    // JSON consumers get the line inside the message; stderr gets the usual file:line prefix.
    const error = scan.line === null ? scan.error : `line ${scan.line}: ${scan.error}`;
    return {
      report: { file, ok: false, error, images: [] },
      where: scan.line === null ? file : `${file}:${scan.line}`,
    };
  }
  const report: FileReport = {
    file,
    ok: true,
    images: scan.images.map(row),
  };
  return { report, where: file };
}

function row(s: ImageSite): FileReport["images"][number] {
  return {
    job: s.job,
    group: s.group,
    task: s.task,
    line: s.line,
    reference: s.reference,
    managed: s.managed,
    ...(s.reason === undefined ? {} : { reason: s.reason, kind: s.kind, hint: s.hint }),
    ...(s.literal === undefined ? {} : { literal: s.literal }),
    ...(s.shared === undefined ? {} : { shared: s.shared }),
  };
}

/** A Nomad Pack template is not a job file (ok: false), but its images are listed, with where their values are. */
async function packReport(file: string, text: string, values: VarFile[], strict: boolean): Promise<Result> {
  let analysis;
  try {
    analysis = await analyzePackTemplate(await readPackTemplate(file, text, values), strict);
  } catch (error) {
    return { report: { file, ok: false, error: describeError(error), images: [] }, where: file };
  }
  if (!analysis.ok) return { report: { file, ok: false, error: analysis.error, images: [] }, where: file };
  const where = packVariablesFile(file)!;
  const error = `a Nomad Pack template, not HCL: its images are read from the template, their values from ${where}`;
  return {
    report: { file, ok: false, error, images: analysis.sites.map((s) => row(publicSite(s))) },
    where: file,
  };
}

function table(reports: FileReport[]): string {
  const rows: string[][] = [["FILE:LINE", "JOB", "GROUP", "TASK", "IMAGE", "PIN"]];
  for (const r of reports) {
    if (!r.ok) {
      rows.push([r.file, "-", "-", "-", "-", "error (see below)"]);
      if (r.images.length === 0) continue;
    }
    if (r.ok && r.images.length === 0) rows.push([r.file, "-", "-", "-", "(no images)", "-"]);
    for (const i of r.images) {
      rows.push([
        `${r.file}:${i.line}`,
        i.job ?? "-",
        i.group ?? "-",
        i.task ?? "-",
        i.reference ?? "(dynamic)",
        i.managed ? "yes" : `no (${i.kind ?? "unmanaged"}): ${i.reason ?? "unmanaged"}`,
      ]);
    }
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const hints = new Map(reports.flatMap((r) => r.images.flatMap((i) => (i.kind ? [[i.kind, i.hint!]] : []))));
  return rows
    .map((row) => row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join("  "))
    .concat(hints.size > 0 ? ["", "To make them pinnable:"] : [])
    .concat([...hints].map(([kind, hint]) => `  ${kind}: ${hint}`))
    .join("\n")
    .concat("\n");
}
