// A Nomad HTTP API stand-in on 127.0.0.1 (node:http), answering from the documented shapes in
// test/fixtures/nomad-api/: parse, plan with diff, register, read job, latest deployment and its
// allocations. It checks the X-Nomad-Token header, records every request, and can deny a capability
// (403 "Permission denied", as Nomad does) or play a rollout that succeeds or fails. Register behaves as
// Nomad's `Job.Register` (nomad/job_endpoint.go): a job whose spec did not change keeps its version and
// JobModifyIndex and gets no deployment, only a new evaluation (a larger `Index`); the check-and-set
// errors use Nomad's wording.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";

const FIXTURES = new URL("../fixtures/nomad-api/", import.meta.url);
export const fixture = <T = unknown>(name: string): T =>
  JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8")) as T;

type Json = Record<string, unknown>;
const ZERO = {
  Ignore: 0,
  Place: 0,
  Migrate: 0,
  Stop: 0,
  InPlaceUpdate: 0,
  DestructiveUpdate: 0,
  Canary: 0,
  Preemptions: 0,
};

export interface NomadRequest {
  method: string;
  /** Path with the query string. */
  path: string;
  /** Whether the request carried the expected token (never the token itself). */
  authorized: boolean;
  body: unknown;
}

export interface StandInOptions {
  /** ACL token the stand-in expects; undefined: ACLs off. */
  token?: string;
  /** Jobs the cluster runs: job ID → image of its (first) task. */
  running?: Record<string, string>;
  /** What the latest deployment of a job reports after registration (or from the start). */
  rollout?: Record<string, "running" | "successful" | "failed">;
  /**
   * A rollout that progresses: the n-th GET /v1/job/:id/deployment answers the n-th status (the last one
   * repeats), e.g. ["running", "running", "successful"]. Takes precedence over `rollout` for that job.
   * "halfway" is "running" with one allocation of each task group healthy; "none": Nomad has not made the
   * deployment yet (it answers null).
   */
  progress?: Record<string, Array<"none" | "running" | "halfway" | "successful" | "failed">>;
  /** Jobs a person changes right after the bot's plan, before its submit (check-and-set tests). */
  changedAfterPlan?: string[];
  /**
   * Batch/system jobs (no deployment): the client statuses of the allocations of a job's current version,
   * as GET /v1/job/:id/allocations lists them. An earlier version's allocations are listed too (complete,
   * JobVersion one less), as Nomad keeps them until garbage collection.
   */
  allocations?: Record<string, AllocationStatus[]>;
  /** Endpoints answered with 403: "parse" | "plan" | "submit" | "read". */
  deny?: Array<"parse" | "plan" | "submit" | "read">;
}

export type AllocationStatus = "pending" | "running" | "complete" | "failed";

export interface NomadStandIn {
  address: string;
  requests(): NomadRequest[];
  /** A person changes the job by hand (`nomad job run` of an edited file): a new version, a new JobModifyIndex. */
  touch(id: string): void;
  /**
   * A reconciler (or a person) runs the job with this image: the cluster now holds it as a new version.
   * With `deployment`, Nomad made that version a deployment in this state; without, it has none of its own.
   */
  run(id: string, image: string, options?: { deployment?: "running" | "successful" | "failed" }): void;
  /** `nomad job stop -purge`: the job and its deployments are gone. */
  purge(id: string): void;
  stop(): Promise<void>;
}

/** A job as the cluster would hold it, from the fixture with this ID and image. */
export function jobWith(id: string, image: string, names: { group?: string; task?: string } = {}): Json {
  const job = fixture<Json>("job.json");
  job.ID = id;
  job.Name = id;
  const group = (job.TaskGroups as Json[])[0]!;
  group.Name = names.group ?? "app";
  const task = (group.Tasks as Json[])[0]!;
  task.Name = names.task ?? "server";
  task.Config = { image };
  return job;
}

/** What Nomad compares to decide whether a register changes the job (Job.SpecChanged): not its indexes. */
const SERVER_SET = [
  "Status",
  "Version",
  "JobModifyIndex",
  "ModifyIndex",
  "CreateIndex",
  "SubmitTime",
  "Stable",
];
const specOf = (job: Json): string =>
  canonical(Object.fromEntries(Object.entries(job).filter(([k]) => !SERVER_SET.includes(k))));
/** JSON with object keys sorted: a job read back through a schema may list its keys in another order. */
const canonical = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(canonical).join(",")}]`
    : value !== null && typeof value === "object"
      ? `{${Object.keys(value)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`)
          .join(",")}}`
      : JSON.stringify(value);

const imageOf = (job: Json): string =>
  ((((job.TaskGroups as Json[])[0]!.Tasks as Json[])[0]!.Config as Json).image as string) ?? "";

export async function startNomad(options: StandInOptions = {}): Promise<NomadStandIn> {
  const log: NomadRequest[] = [];
  const jobs = new Map<string, Json>();
  for (const [id, image] of Object.entries(options.running ?? {})) jobs.set(id, jobWith(id, image));
  let modifyIndex = 33;
  const deployments = new Map<string, Json>();
  const reads = new Map<string, number>();
  for (const [id, status] of Object.entries(options.rollout ?? {}))
    if (jobs.has(id))
      // Made for the version the cluster runs: its index is that job's (Deployment.JobModifyIndex).
      deployments.set(id, {
        ...fixture<Json>(`deployment.${status}.json`),
        JobID: id,
        JobModifyIndex: Number(jobs.get(id)!.JobModifyIndex),
      });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const body = raw ? (JSON.parse(raw) as Json) : undefined;
    const url = new URL(req.url ?? "/", "http://stand-in");
    const authorized = options.token === undefined || req.headers["x-nomad-token"] === options.token;
    log.push({ method: req.method ?? "", path: `${url.pathname}${url.search}`, authorized, body });
    const send = (status: number, value: unknown) => {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      res.writeHead(status, {
        "content-type": typeof value === "string" ? "text/plain" : "application/json",
      });
      res.end(text);
    };
    const route = (kind: "parse" | "plan" | "submit" | "read") => {
      if (!authorized || options.deny?.includes(kind)) {
        send(403, "Permission denied");
        return false;
      }
      return true;
    };
    const path = url.pathname;
    let m: RegExpMatchArray | null;
    if (req.method === "POST" && path === "/v1/jobs/parse") {
      if (!route("parse")) return;
      const hcl = String(body?.JobHCL ?? "");
      const id = /job\s+"([^"]+)"/.exec(hcl)?.[1];
      const image = /image\s*=\s*"([^"]+)"/.exec(hcl)?.[1];
      if (!id || !image) return send(400, "1 error occurred:\n\t* job file has no job block or image");
      const names = {
        group: /group\s+"([^"]+)"/.exec(hcl)?.[1] ?? "app",
        task: /task\s+"([^"]+)"/.exec(hcl)?.[1] ?? "server",
      };
      const parsed: Json = { ...jobWith(id, image, names), Status: "", Version: 0, JobModifyIndex: 0 };
      const type = /^\s*type\s*=\s*"([^"]+)"/m.exec(hcl)?.[1];
      if (type) parsed.Type = type;
      if (/^\s*periodic\s*\{/m.test(hcl))
        parsed.Periodic = { Enabled: true, Spec: "0 3 * * *", SpecType: "cron" };
      return send(200, parsed);
    }
    if (req.method === "POST" && (m = /^\/v1\/job\/([^/]+)\/plan$/.exec(path))) {
      if (!route("plan")) return;
      const id = decodeURIComponent(m[1]!);
      const next = imageOf(body?.Job as Json);
      const current = jobs.get(id);
      const plan = fixture<Json>(current ? "job-plan.edited.json" : "job-plan.added.json");
      const out = JSON.parse(JSON.stringify(plan).replaceAll('"banana"', JSON.stringify(id))) as Json;
      // The version the cluster holds, as the check-and-set submit must name it.
      out.JobModifyIndex = current ? Number(current.JobModifyIndex ?? 0) : 0;
      if (current && options.changedAfterPlan?.includes(id)) {
        // A person edits the job between the bot's plan and its submit.
        modifyIndex += 1;
        jobs.set(id, { ...current, JobModifyIndex: modifyIndex });
      }
      const group = ((body?.Job as Json).TaskGroups as Json[])[0]!;
      const tg = ((out.Diff as Json).TaskGroups as Json[])[0]!;
      tg.Name = group.Name;
      (tg.Tasks as Json[])[0]!.Name = (group.Tasks as Json[])[0]!.Name;
      const desired = (out.Annotations as Json).DesiredTGUpdates as Json;
      (out.Annotations as Json).DesiredTGUpdates = { [String(group.Name)]: desired.app };
      const field = (((tg.Tasks as Json[])[0]!.Objects as Json[])[0]!.Fields as Json[])[0]!;
      field.New = next;
      if (current) {
        field.Old = imageOf(current);
        if (field.Old === next) {
          // Same image: nothing to do, as Nomad reports it.
          (out.Diff as Json).Type = "None";
          (out.Diff as Json).TaskGroups = [];
          out.Annotations = { DesiredTGUpdates: { [String(group.Name)]: { ...ZERO, Ignore: 2 } } };
        }
      }
      return send(200, out);
    }
    if (req.method === "POST" && path === "/v1/jobs") {
      if (!route("submit")) return;
      const job = body?.Job as Json;
      const id = String(job.ID);
      const existing = jobs.get(id);
      if (body?.EnforceIndex) {
        const expected = Number(body.JobModifyIndex ?? 0);
        const actual = Number(existing?.JobModifyIndex ?? 0);
        // Nomad's own wording (nomad/job_endpoint.go, Register), as a 500 with a plain-text body.
        const refused = existing
          ? expected === 0
            ? `Enforcing job modify index 0: job already exists`
            : expected !== actual
              ? `Enforcing job modify index ${expected}: job exists with conflicting job modify index: ${actual}`
              : null
          : expected !== 0
            ? `Enforcing job modify index ${expected}: job does not exist`
            : null;
        if (refused) return send(500, refused);
      }
      // Every register of a service job gets an evaluation, committed after the job: its index is the
      // answer's `Index`.
      const evalId = randomUUID();
      if (existing && specOf(existing) === specOf(job)) {
        // Unchanged: no new version, no deployment; the answer names the version the cluster holds.
        modifyIndex += 1;
        return send(200, {
          ...fixture<Json>("jobs-register.json"),
          EvalID: evalId,
          EvalCreateIndex: modifyIndex,
          JobModifyIndex: Number(existing.JobModifyIndex),
          Index: modifyIndex,
        });
      }
      modifyIndex += 1;
      const version = existing ? Number(existing.Version ?? 0) + 1 : 0;
      jobs.set(id, { ...job, Version: version, JobModifyIndex: modifyIndex });
      const status = options.rollout?.[id];
      if (status) {
        deployments.set(id, {
          ...fixture<Json>(`deployment.${status}.json`),
          JobID: job.ID,
          JobModifyIndex: modifyIndex,
        });
      }
      const registered = modifyIndex;
      modifyIndex += 1;
      return send(200, {
        ...fixture<Json>("jobs-register.json"),
        EvalID: evalId,
        EvalCreateIndex: modifyIndex,
        JobModifyIndex: registered,
        Index: modifyIndex,
      });
    }
    if (req.method === "GET" && (m = /^\/v1\/job\/([^/]+)\/deployment$/.exec(path))) {
      if (!route("read")) return;
      const id = decodeURIComponent(m[1]!);
      const steps = options.progress?.[id];
      if (steps && steps.length > 0) {
        const seen = reads.get(id) ?? 0;
        reads.set(id, seen + 1);
        const status = steps[Math.min(seen, steps.length - 1)]!;
        if (status === "none") return send(200, null);
        // Same deployment ID throughout, as Nomad keeps it while the deployment moves on.
        const deployment: Json = {
          ...fixture<Json>(`deployment.${status === "halfway" ? "running" : status}.json`),
          JobID: id,
        };
        if (status === "halfway") {
          const groups = deployment.TaskGroups as Record<string, Json>;
          for (const g of Object.values(groups)) Object.assign(g, { PlacedAllocs: 2, HealthyAllocs: 1 });
        }
        deployments.set(id, deployment);
      }
      return send(200, deployments.get(id) ?? null);
    }
    if (req.method === "GET" && (m = /^\/v1\/job\/([^/]+)$/.exec(path))) {
      if (!route("read")) return;
      const job = jobs.get(decodeURIComponent(m[1]!));
      return job ? send(200, job) : send(404, "job not found");
    }
    if (req.method === "GET" && (m = /^\/v1\/job\/([^/]+)\/allocations$/.exec(path))) {
      if (!route("read")) return;
      const id = decodeURIComponent(m[1]!);
      const job = jobs.get(id);
      if (!job) return send(404, "job not found");
      const version = Number(job.Version ?? 0);
      const stub = (status: string, n: number, jobVersion: number): Json => ({
        ID: `${id}-${jobVersion}-${n}-0000-0000-0000-000000000000`,
        Name: `${id}.app[${n}]`,
        JobID: id,
        JobVersion: jobVersion,
        TaskGroup: "app",
        DesiredStatus: "run",
        ClientStatus: status,
        TaskStates:
          status === "failed"
            ? {
                server: {
                  State: "dead",
                  Failed: true,
                  Events: [{ Type: "Terminated", ExitCode: 3, Time: 1 }],
                },
              }
            : { server: { State: status === "complete" ? "dead" : status, Failed: false, Events: [] } },
      });
      const current = (options.allocations?.[id] ?? []).map((st, n) => stub(st, n, version));
      const earlier = version > 0 ? [stub("complete", 0, version - 1)] : [];
      return send(200, [...current, ...earlier]);
    }
    if (req.method === "GET" && (m = /^\/v1\/deployment\/allocations\/([^/]+)$/.exec(path))) {
      if (!route("read")) return;
      const d = [...deployments.values()].find((x) => x.ID === m![1]);
      return send(200, d?.Status === "failed" ? fixture("allocations.failed.json") : []);
    }
    send(404, `Invalid URL: ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    requests: () => log.slice(),
    run(id, image, runOptions = {}) {
      modifyIndex += 1;
      const version = Number(jobs.get(id)?.Version ?? -1) + 1;
      jobs.set(id, { ...jobWith(id, image), Version: version, JobModifyIndex: modifyIndex });
      if (runOptions.deployment) {
        deployments.set(id, {
          ...fixture<Json>(`deployment.${runOptions.deployment}.json`),
          ID: randomUUID(),
          JobID: id,
          JobVersion: version,
          JobModifyIndex: modifyIndex,
          JobSpecModifyIndex: modifyIndex,
        });
      }
    },
    purge(id) {
      jobs.delete(id);
      deployments.delete(id);
    },
    touch(id) {
      const job = jobs.get(id);
      if (!job) throw new Error(`stand-in has no job ${id}`);
      modifyIndex += 1;
      jobs.set(id, { ...job, Version: Number(job.Version ?? 0) + 1, JobModifyIndex: modifyIndex });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** An address where nothing listens: a port the OS gave us, then closed again. */
export async function closedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
