// A small Nomad HTTP API client: the handful of endpoints the bot needs, each with a timeout and errors
// a person can act on. The ACL token comes from the bot's own environment (NOMAD_TOKEN), never from the
// repository's config, and never appears in an error message or a log line.
import type { z } from "zod";
import { redact, registerSecret } from "../secrets/redact.js";
import {
  JobPlanResponse,
  JobRegisterResponse,
  type NomadAllocation,
  NomadAllocations,
  NomadDeployment,
  NomadJob,
} from "./types.js";

export type NomadErrorKind = "unreachable" | "timeout" | "acl" | "not-found" | "http" | "invalid-response";

export class NomadApiError extends Error {
  override readonly name = "NomadApiError";
  constructor(
    message: string,
    readonly kind: NomadErrorKind,
    readonly status?: number,
    /** The ACL capability the request needs (namespace:submit-job, ...): set for every request. */
    readonly capability?: string,
  ) {
    // Server text quoted in the message may echo the token back.
    super(redact(message));
  }
}

export interface NomadClientOptions {
  address: string;
  namespace?: string;
  region?: string;
  token?: string;
  timeoutMs?: number;
}

/** Config key `nomad` (src/config/schema.ts) as far as the client is concerned. */
export interface NomadSettings {
  address?: string;
  namespace?: string;
  region?: string;
  timeout_ms?: number;
}

/** The client for a repository's `nomad` config, or null when it names no address (Nomad features off). */
export function nomadClientFor(
  settings: NomadSettings | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): NomadClient | null {
  if (!settings?.address) return null;
  const token = env.NOMAD_TOKEN?.trim();
  registerSecret(token);
  return new NomadClient({
    address: settings.address,
    ...(settings.namespace ? { namespace: settings.namespace } : {}),
    ...(settings.region ? { region: settings.region } : {}),
    ...(token ? { token } : {}),
    ...(settings.timeout_ms ? { timeoutMs: settings.timeout_ms } : {}),
  });
}

export class NomadClient {
  readonly #token: string | undefined;
  readonly #origin: string;
  /** Path prefix when Nomad sits behind a proxy under a sub-path ("" usually). */
  readonly #prefix: string;
  readonly namespace: string;
  readonly region: string | undefined;
  readonly timeoutMs: number;

  constructor(options: NomadClientOptions) {
    const base = new URL(options.address);
    if (base.username || base.password) {
      // Credentials in a URL end up in logs and error messages; the token has its own channel.
      throw new NomadApiError("nomad.address must not contain credentials", "http");
    }
    this.#origin = base.origin;
    this.#prefix = base.pathname.replace(/\/+$/, "");
    this.#token = options.token;
    this.namespace = options.namespace ?? "default";
    this.region = options.region;
    this.timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** The address as shown to people (no query, no trailing slash). */
  get address(): string {
    return `${this.#origin}${this.#prefix}`;
  }

  /** POST /v1/jobs/parse: HCL2 → the job as JSON, with defaults filled in (Canonicalize). */
  parse(hcl: string): Promise<NomadJob> {
    return this.#call(NomadJob, "POST", "/v1/jobs/parse", "namespace:parse-job", {
      JobHCL: hcl,
      Canonicalize: true,
    });
  }

  /** POST /v1/job/:id/plan with Diff: the scheduler's dry run against what the cluster runs. */
  plan(job: NomadJob): Promise<JobPlanResponse> {
    return this.#call(
      JobPlanResponse,
      "POST",
      `/v1/job/${encodeURIComponent(job.ID)}/plan`,
      "namespace:submit-job",
      {
        Job: job,
        Diff: true,
      },
    );
  }

  /**
   * POST /v1/jobs: register (or update) the job. With `enforceIndex` (the JobModifyIndex a plan returned,
   * 0 for a job that must not exist yet) Nomad refuses the job if it changed since: check-and-set.
   * `source` is kept with the job version (Nomad 1.6+ shows it in `nomad job inspect`, the UI).
   */
  submit(
    job: NomadJob,
    options: { enforceIndex?: number; source?: string } = {},
  ): Promise<JobRegisterResponse> {
    return this.#call(JobRegisterResponse, "POST", "/v1/jobs", "namespace:submit-job", {
      Job: job,
      ...(options.enforceIndex !== undefined
        ? { EnforceIndex: true, JobModifyIndex: options.enforceIndex }
        : {}),
      ...(options.source !== undefined ? { Submission: { Source: options.source, Format: "hcl2" } } : {}),
    });
  }

  /** GET /v1/job/:id; null when the cluster has no such job. */
  job(id: string): Promise<NomadJob | null> {
    return this.#orNull(
      this.#call(NomadJob, "GET", `/v1/job/${encodeURIComponent(id)}`, "namespace:read-job"),
    );
  }

  /** GET /v1/job/:id/deployment: the job's most recent deployment; null when it has none. */
  latestDeployment(jobId: string): Promise<NomadDeployment | null> {
    return this.#orNull(
      this.#call(
        NomadDeployment.nullable(),
        "GET",
        `/v1/job/${encodeURIComponent(jobId)}/deployment`,
        "namespace:read-job",
      ),
    );
  }

  /** GET /v1/job/:id/allocations: every allocation of the job, all versions (stubs). */
  jobAllocations(jobId: string): Promise<NomadAllocation[]> {
    return this.#call(
      NomadAllocations.nullable(),
      "GET",
      `/v1/job/${encodeURIComponent(jobId)}/allocations`,
      "namespace:read-job",
    ).then((list) => list ?? []);
  }

  /** GET /v1/deployment/:id */
  deployment(id: string): Promise<NomadDeployment> {
    return this.#call(
      NomadDeployment,
      "GET",
      `/v1/deployment/${encodeURIComponent(id)}`,
      "namespace:read-job",
    );
  }

  /** GET /v1/deployment/allocations/:id: the allocations the deployment created or changed. */
  deploymentAllocations(id: string): Promise<NomadAllocation[]> {
    return this.#call(
      NomadAllocations.nullable(),
      "GET",
      `/v1/deployment/allocations/${encodeURIComponent(id)}`,
      "namespace:read-job",
    ).then((list) => list ?? []);
  }

  async #orNull<T>(pending: Promise<T | null>): Promise<T | null> {
    try {
      return await pending;
    } catch (error) {
      if (error instanceof NomadApiError && error.kind === "not-found") return null;
      throw error;
    }
  }

  async #call<T extends z.ZodType>(
    schema: T,
    method: "GET" | "POST",
    path: string,
    capability: string,
    body?: unknown,
  ): Promise<z.infer<T>> {
    const url = new URL(`${this.#origin}${this.#prefix}${path}`);
    url.searchParams.set("namespace", this.namespace);
    if (this.region) url.searchParams.set("region", this.region);
    const what = `${method} ${path}`;
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#token) headers["x-nomad-token"] = this.#token;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "error",
      });
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      if (e.name === "TimeoutError" || e.name === "AbortError") {
        throw new NomadApiError(
          `cluster unreachable: ${this.address} did not answer within ${this.timeoutMs} ms (${what})`,
          "timeout",
          undefined,
          capability,
        );
      }
      const reason = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new NomadApiError(
        `cluster unreachable: ${this.address}: ${this.#clean(reason)} (${what})`,
        "unreachable",
        undefined,
        capability,
      );
    }
    const text = await response.text().catch(() => "");
    if (response.status === 403) {
      const how = this.#token
        ? `the token in NOMAD_TOKEN lacks the capability ${capability}`
        : `no NOMAD_TOKEN is set in the bot's environment and anonymous access lacks ${capability}`;
      throw new NomadApiError(
        `ACL denied (403): ${how} in namespace "${this.namespace}" (${what})`,
        "acl",
        403,
        capability,
      );
    }
    if (response.status === 404) {
      throw new NomadApiError(`not found: ${this.#excerpt(text)} (${what})`, "not-found", 404, capability);
    }
    if (!response.ok) {
      throw new NomadApiError(
        `Nomad answered ${response.status}: ${this.#excerpt(text)} (${what})`,
        "http",
        response.status,
        capability,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text) as unknown;
    } catch {
      throw new NomadApiError(
        `Nomad answered ${response.status} with a body that is not JSON (${what})`,
        "invalid-response",
        response.status,
        capability,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
      throw new NomadApiError(
        `Nomad answered ${response.status} with an unexpected body${where}: ${issue?.message ?? "invalid"} (${what})`,
        "invalid-response",
        response.status,
        capability,
      );
    }
    return parsed.data as z.infer<T>;
  }

  // Nomad's error bodies are plain text; they never hold the token, but a proxy in front might echo it.
  #clean(text: string): string {
    return this.#token ? text.split(this.#token).join("***") : text;
  }

  #excerpt(text: string): string {
    const one = this.#clean(text).replace(/\s+/g, " ").trim();
    return one.length > 300 ? `${one.slice(0, 300)}…` : one || "(empty body)";
  }
}

/** A one-line note for a comment or check run: the message for our own errors, a class for others. */
export function describeNomadError(error: unknown): string {
  if (error instanceof NomadApiError) return error.message;
  return `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
}
