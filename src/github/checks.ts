// The `nomad-gitops` check run on a commit. Each attempt at a commit (the push waiting for its build, one
// attempt of one build run, one re-run from the Checks tab) is marked in the run's `external_id`, so the
// state lives in GitHub: a redelivered event finds its own run and writes nothing, and a completed run is
// never reused for another attempt (GitHub does not let a completed run change its conclusion).
import { CHECK_NAME, fitText, type Octokit, type RepoCoords } from "./types.js";
import { upsert } from "./upsert.js";

export type CheckConclusion = "success" | "failure" | "neutral" | "cancelled" | "skipped" | "action_required";

export interface CheckOutput {
  title: string;
  summary: string;
  text?: string;
}

export interface FoundCheckRun {
  id: number;
  status: string;
  conclusion: string | null;
  /** Which attempt the run belongs to (see {@link attemptKey}); "" for a run without one. */
  externalId: string;
  title: string | null;
  summary: string | null;
}

export type Attempt =
  /** The push that waits for its build. */
  | { kind: "push" }
  /** One attempt of one run of the build workflow. */
  | { kind: "build"; runId: number; attempt: number }
  /** A re-run asked for from the Checks tab, on the run it was asked on. */
  | { kind: "rerun"; checkRunId: number }
  /** A box ticked on the deploy dashboard; `key` names that one edit (a redelivery of it is done). */
  | { kind: "request"; key: string };

export function attemptKey(a: Attempt): string {
  if (a.kind === "push") return "nomad-gitops:push";
  if (a.kind === "build") return `nomad-gitops:build:${a.runId}:${a.attempt}`;
  if (a.kind === "request") return `nomad-gitops:request:${a.key}`;
  return `nomad-gitops:rerun:${a.checkRunId}`;
}

function buildOfKey(key: string): { runId: number; attempt: number } | null {
  const m = /^nomad-gitops:build:(\d+):(\d+)$/.exec(key);
  return m ? { runId: Number(m[1]), attempt: Number(m[2]) } : null;
}

/** The run an attempt works in; `claim`: the `external_id` its completing write still has to set. */
export interface AttemptRun {
  id: number;
  claim: string | null;
}

export type Skip = Extract<Claim, { kind: "done" | "superseded" }>;

export type Claim =
  /** This attempt's run is completed: a redelivery, nothing to do. */
  | { kind: "done"; id: number }
  /** A later attempt or run of the build already has its own check run: this event is out of date. */
  | { kind: "superseded"; id: number }
  /** This attempt's run exists and is not completed (a crash or a concurrent delivery): carry on with it. */
  | { kind: "resume"; id: number }
  /** The push's waiting run (or one with no attempt): make it this attempt's. */
  | { kind: "take"; id: number }
  | { kind: "create" };

/** Which check run an attempt works in, from the runs on the commit (pure). */
export function claimCheckRun(runs: readonly FoundCheckRun[], attempt: Attempt): Claim {
  const key = attemptKey(attempt);
  const own = runs.find((r) => r.externalId === key);
  if (own) return own.status === "completed" ? { kind: "done", id: own.id } : { kind: "resume", id: own.id };
  if (attempt.kind === "rerun" || attempt.kind === "request") return { kind: "create" };
  if (attempt.kind === "build") {
    const later = runs.find((r) => {
      const b = buildOfKey(r.externalId);
      return (
        b !== null && (b.runId > attempt.runId || (b.runId === attempt.runId && b.attempt > attempt.attempt))
      );
    });
    if (later) return { kind: "superseded", id: later.id };
  }
  const newest = newestOf(runs);
  const waiting = newest && newest.status !== "completed" && isUnclaimed(newest.externalId);
  return waiting ? { kind: "take", id: newest.id } : { kind: "create" };
}

function isUnclaimed(externalId: string): boolean {
  return externalId === "" || externalId === attemptKey({ kind: "push" });
}

function newestOf(runs: readonly FoundCheckRun[]): FoundCheckRun | undefined {
  return runs.reduce<FoundCheckRun | undefined>((a, r) => (!a || r.id > a.id ? r : a), undefined);
}

export class CheckRuns {
  constructor(
    readonly octokit: Octokit,
    readonly coords: RepoCoords,
    /** `nomad-gitops` (the deploy's runs); the rollout after a merge reports under its own name. */
    readonly name: string = CHECK_NAME,
  ) {}

  /** Every `nomad-gitops` run on `sha` (one page of 100: a commit gets a handful). */
  async list(sha: string): Promise<FoundCheckRun[]> {
    const { data } = await this.octokit.rest.checks.listForRef({
      ...this.coords,
      ref: sha,
      check_name: this.name,
      filter: "all",
      per_page: 100,
    });
    return data.check_runs.map((r) => ({
      id: r.id,
      status: r.status,
      conclusion: r.conclusion ?? null,
      externalId: r.external_id ?? "",
      title: r.output?.title ?? null,
      summary: r.output?.summary ?? null,
    }));
  }

  /** The newest run on `sha`, or null. */
  async find(sha: string): Promise<FoundCheckRun | null> {
    return newestOf(await this.list(sha)) ?? null;
  }

  /**
   * The run this attempt works in, `status` now: taken over from the push, resumed, or created. A skip when
   * the attempt has nothing to do (its run is completed, or a later attempt has its own run).
   */
  async start(
    sha: string,
    attempt: Attempt,
    status: "queued" | "in_progress",
    output?: CheckOutput,
  ): Promise<{ id: number } | { skip: Skip }> {
    const claim = claimCheckRun(await this.list(sha), attempt);
    if (claim.kind === "done" || claim.kind === "superseded") return { skip: claim };
    if (claim.kind === "resume") return { id: claim.id };
    return {
      id: await this.#write(sha, claim, { status, external_id: attemptKey(attempt), ...outputOf(output) }),
    };
  }

  /**
   * The run this attempt works in, written only when there is none to take: the push's waiting run is taken
   * over by the completing write (it carries the attempt's `external_id`), so a deploy that finishes makes one
   * check-run write, not an `in_progress` that is completed a moment later. Runs of one repository are
   * serialised (handlers/serial.ts), so nothing else claims the waiting run meanwhile; a run that dies before
   * completing leaves it waiting, and the redelivery takes it again.
   */
  async claim(sha: string, attempt: Attempt): Promise<{ run: AttemptRun } | { skip: Skip }> {
    const claim = claimCheckRun(await this.list(sha), attempt);
    if (claim.kind === "done" || claim.kind === "superseded") return { skip: claim };
    if (claim.kind === "resume") return { run: { id: claim.id, claim: null } };
    if (claim.kind === "take") return { run: { id: claim.id, claim: attemptKey(attempt) } };
    const fields = { status: "in_progress" as const, external_id: attemptKey(attempt) };
    return { run: { id: await this.#write(sha, claim, fields), claim: null } };
  }

  /** The attempt's run completed in one write (a build that failed); a skip as for {@link start}. */
  async finish(
    sha: string,
    attempt: Attempt,
    conclusion: CheckConclusion,
    output: CheckOutput,
  ): Promise<{ id: number } | { skip: Skip }> {
    const claim = claimCheckRun(await this.list(sha), attempt);
    if (claim.kind === "done" || claim.kind === "superseded") return { skip: claim };
    const fields = {
      status: "completed" as const,
      conclusion,
      external_id: attemptKey(attempt),
      ...outputOf(output),
    };
    return { id: await this.#write(sha, claim, fields) };
  }

  /** The push's run, waiting for the build (the caller made sure the commit has none yet). */
  async queueForPush(sha: string, output: CheckOutput): Promise<number> {
    const fields = {
      status: "queued" as const,
      external_id: attemptKey({ kind: "push" }),
      ...outputOf(output),
    };
    return this.#write(sha, { kind: "create" }, fields);
  }

  async #write(
    sha: string,
    claim: Extract<Claim, { kind: "take" | "resume" | "create" }>,
    fields: {
      status: "queued" | "in_progress" | "completed";
      external_id: string;
      conclusion?: CheckConclusion;
      output?: CheckOutput;
    },
  ): Promise<number> {
    if (claim.kind !== "create") {
      await this.octokit.rest.checks.update({ ...this.coords, check_run_id: claim.id, ...fields });
      return claim.id;
    }
    const { data } = await this.octokit.rest.checks.create({
      ...this.coords,
      name: this.name,
      head_sha: sha,
      ...fields,
    });
    return data.id;
  }

  /** A run in `status` (tests and tools; the handlers go through {@link start}). */
  async create(sha: string, status: "queued" | "in_progress", output?: CheckOutput): Promise<number> {
    const { data } = await this.octokit.rest.checks.create({
      ...this.coords,
      name: this.name,
      head_sha: sha,
      status,
      ...(output ? { output: limit(output) } : {}),
    });
    return data.id;
  }

  /** The newest run on `sha` when it is not completed, moved to `status`; else a new one. */
  async ensure(sha: string, status: "queued" | "in_progress", output?: CheckOutput): Promise<number> {
    const { result } = await upsert(
      {
        find: async () => {
          const newest = await this.find(sha);
          return newest && newest.status !== "completed" ? newest : null;
        },
        same: () => false,
        create: () => this.create(sha, status, output),
        update: async (found) => {
          await this.octokit.rest.checks.update({
            ...this.coords,
            check_run_id: found.id,
            status,
            ...(output ? { output: limit(output) } : {}),
          });
          return found.id;
        },
        keep: (found) => found.id,
      },
      null,
    );
    return result;
  }

  /** Completes a run; an {@link AttemptRun} still to be claimed gets its attempt's `external_id` in the same write. */
  async complete(run: number | AttemptRun, conclusion: CheckConclusion, output: CheckOutput): Promise<void> {
    const { id, claim } = typeof run === "number" ? { id: run, claim: null } : run;
    await this.octokit.rest.checks.update({
      ...this.coords,
      check_run_id: id,
      status: "completed",
      conclusion,
      ...(claim ? { external_id: claim } : {}),
      output: limit(output),
    });
  }

  /**
   * A finished run in one request (config checks, failures before anything was queued). Nothing is sent
   * when the newest run on `sha` already says exactly this (a redelivered event); a completed run that says
   * something else is left as it is and a new one is created.
   */
  async completed(
    sha: string,
    conclusion: CheckConclusion,
    output: CheckOutput,
    attempt?: Attempt,
  ): Promise<number> {
    const want = limit(output);
    const { result } = await upsert(
      {
        find: () => this.find(sha),
        same: (found) =>
          found.status === "completed" &&
          found.conclusion === conclusion &&
          found.title === want.title &&
          found.summary === want.summary,
        create: async () => {
          const { data } = await this.octokit.rest.checks.create({
            ...this.coords,
            name: this.name,
            head_sha: sha,
            status: "completed",
            conclusion,
            ...(attempt ? { external_id: attemptKey(attempt) } : {}),
            output: want,
          });
          return data.id;
        },
        keep: (found) => found.id,
      },
      null,
    );
    return result;
  }
}

function outputOf(output: CheckOutput | undefined): { output?: CheckOutput } {
  return output ? { output: limit(output) } : {};
}

function limit(output: CheckOutput): CheckOutput {
  return {
    title: output.title.slice(0, 255),
    summary: fitText(output.summary),
    ...(output.text !== undefined ? { text: fitText(output.text) } : {}),
  };
}
