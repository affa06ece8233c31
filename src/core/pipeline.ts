// One deploy run, shared by the GitHub App and the CLI. It reads as its steps; each step lives in its
// own module and returns a new plan rather than changing the one it was given. Everything outside
// (repository, registry, archives, cluster, clock) comes in through the ports in ports.ts.
import { type EditAhead, editAhead, editJobFiles } from "./edits.js";
import {
  buildAgainstBase,
  deployedAncestry,
  commitLogs,
  explainMoves,
  flagUnexplainedMoves,
  skipOlderBuild,
} from "./history.js";
import { pinRecords } from "./pin-records.js";
import { changing, plan as makePlan } from "./plan.js";
import { checkBuilders } from "./builders.js";
import { askingOnce, checkProvenance, provenanceChecks, trustedRoots } from "./provenance.js";
import type { DeployOptions, DeployResult, RegistryAction } from "./ports.js";
import { writeRegistry } from "./registry-writes.js";
import { releaseNotesFiles, renderReleaseNotes } from "./release-notes.js";
import { renderDeploy } from "./outputs.js";
import { resolveServices } from "./resolve.js";
import { type MovedFile, scanWithLookups } from "./scan.js";
import { renderTag } from "./templates.js";
import { PREFETCH_MAX, prefetchReferee, prepareReferee, refereeLoaded } from "../jobfile/parse.js";

export async function runDeploy(options: DeployOptions): Promise<DeployResult> {
  const { config, build, repo } = options;
  const tag = renderTag(config.build.tag, build);
  const limit = options.concurrency ?? 8;
  const progress = options.onProgress ?? (() => {});
  const actions: RegistryAction[] = [];
  const sources = options.images?.sources ?? {};
  // Every edit is proven by HashiCorp's parser, in its own thread. By tag, it starts when a lookup first
  // finds a digest that moved, and reads the file to edit then, while the other lookups run: a plan
  // where nothing moved never loads it. An --images map's digests come later: it loads from the start.
  const byTag = Object.keys(sources).length === 0;
  if (!byTag) prepareReferee();
  // Provenance (when required) is checked per moving service as soon as step 2 resolves it (3b waits for
  // the verdicts). Steps 3b and 3c share one lookup per digest and one read of the trusted root.
  const provenance = options.provenance && {
    ...options.provenance,
    port: askingOnce(options.provenance.port),
  };
  let roots: ReturnType<typeof trustedRoots> | undefined;
  const trusted = () => (roots ??= trustedRoots(config, repo));
  const checks = provenanceChecks({
    config,
    build,
    repo,
    options: provenance,
    limit,
    trusted,
    base: options.base,
  });

  // How the build relates to the deploy branch (step 3's never-downgrade check) needs nothing else:
  // asked now, while the scan and the lookups run, not after the last lookup.
  const againstBase = buildAgainstBase(repo, build, options.base);

  // A file whose lookup found a moved digest is likely to be edited: the referee reads it ahead, and
  // where the edit is one image's alone, it is made and proven ahead too (step 4 collects it).
  const editsAhead = new Map<string, EditAhead>();
  const readAhead = (file: MovedFile) => {
    prefetchReferee(file.text);
    if (!file.only) return;
    const targets = [{ repository: file.image, digest: file.digest, tag }];
    editsAhead.set(file.path, editAhead(config, { ...file, targets }, refereeLoaded()));
  };

  // 1. Scan every job file; each service image's tag lookup starts as soon as a file names it.
  const scan = await scanWithLookups(
    {
      ...options,
      strict: options.strictScan ?? false,
      byTag,
      readAhead,
      readAheadMax: PREFETCH_MAX,
    },
    tag,
  );
  progress({ kind: "scan", files: scan.texts.size, services: scan.discovery.services.length });
  // The same for the commits the pins' tags record (step 3): known from the scan, asked while the
  // lookups run. Commits only a digest-only pin's record names are asked in step 3.
  const tagAncestry = deployedAncestry(repo, config, scan.discovery, build, limit).catch(() => ({}));

  // 2. Resolve what the build produced per service (tag lookup, or --images: compare, push on apply).
  const { resolved, unknownSources } = await resolveServices(
    { options, tag, lookups: scan.lookups, actions, progress, onResolved: checks.resolved },
    scan.discovery,
    limit,
  );
  const discovery = { ...scan.discovery, fileErrors: [...scan.discovery.fileErrors, ...unknownSources] };

  // 3. Plan: the pure decision per service; a build older than what is deployed changes nothing.
  //    A digest-only pin's build is read from the deploy commit that wrote it.
  const records = await pinRecords(
    { repo, registry: options.registry },
    config,
    build,
    discovery,
    resolved,
    limit,
  );
  const ancestry = await deployedAncestry(repo, config, discovery, build, limit, records, await tagAncestry);
  const older = await skipOlderBuild(
    makePlan({ config, build, discovery, resolved, ancestry, records }),
    options.base,
    againstBase,
  );

  // 3b. Provenance (when required): a moved or new digest whose attestation fails is not pinned.
  const verified = await checkProvenance(config, older.plan, checks, limit);

  // 3c. Independent builders (when configured): pinned only when k of them built and attested the digest.
  const attested = await checkBuilders(verified, {
    config,
    repo,
    registry: options.registry,
    provenance,
    trusted,
    explainer: options.explainer,
    limit,
  });

  // 4. Edit the job files of moving services; the engine proves every edit before it is kept.
  const edited = await editJobFiles(config, attested, scan.texts, scan.varFiles, scan.readings, editsAhead);
  let planned = edited.plan;

  // 5. Registry writes (apply): retag unchanged images, create build tags that pins name.
  if (options.mode === "apply" && !older.skipped) {
    planned = await writeRegistry(options.registry, planned, { actions, progress, limit });
  }

  // 6. History: the commits behind each move; a move no commit explains is flagged (and explained).
  const commits = await commitLogs(repo, planned, ancestry, limit);
  planned = flagUnexplainedMoves(planned, commits);
  if (options.explainer) planned = await explainMoves(options.explainer, planned, commits);

  // 7. Release notes: this deploy's section, prepended to each configured notes file.
  const clock = options.clock ?? { now: () => new Date() };
  const ctx = { commits, date: clock.now(), ...(options.repoUrl ? { repoUrl: options.repoUrl } : {}) };
  const moving = changing(planned).length > 0;
  const notesFiles = moving ? await releaseNotesFiles(repo, config, planned, ctx) : [];
  const files = [...edited.files, ...notesFiles];

  // 8. Render what people read (PR, comment, check run, commit message), with the cluster's view if asked.
  const rendered = await renderDeploy(config, planned, ctx, {
    files,
    skipped: older.skipped,
    cluster: options.cluster,
  });
  return {
    plan: planned,
    files,
    releaseNotes: moving ? renderReleaseNotes(planned, ctx) : "",
    commits,
    ...rendered,
    // Concurrent calls finish in any order; reports list them by service (push before retag).
    registry: actions.sort((a, b) => a.service.localeCompare(b.service)),
    ...(older.skipped ? { skipped: older.skipped } : {}),
  };
}
