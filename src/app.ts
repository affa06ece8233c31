// Probot wiring only: which event goes to which handler. Everything else lives in src/handlers.
import type { Context, Probot } from "probot";
import { appBotLogin } from "./github/identity.js";
import { type Scheduler, realScheduler } from "./nomad/follow.js";
import { type FollowClaims, localClaims } from "./nomad/follow-deployments.js";
import { scheduleResume } from "./handlers/resume.js";
import { onCheckRunRerequested } from "./handlers/check-run.js";
import { onDashboardEdited } from "./handlers/dashboard.js";
import type { DeployDeps } from "./handlers/deploy.js";
import { onPullRequestChanged, onPullRequestClosed } from "./handlers/pull-request.js";
import { onPush } from "./handlers/push.js";
import { onMergeGroupChecksRequested } from "./handlers/merge-group.js";
import { type RepoSerializer, localSerializer } from "./handlers/serial.js";
import { onWorkflowRunCompleted } from "./handlers/workflow-run.js";
import { redacted } from "./handlers/redacted.js";
import { registerSecretsFromEnv } from "./secrets/redact.js";
import type { PendingWork } from "./handlers/accept.js";
import type { PendingDelivery } from "./handlers/ledger.js";
import { type RecoveryLock, type RecoverySettings, scheduleRecovery } from "./handlers/recovery.js";

/**
 * The App's collaborators: the deploy run's, the time source of the rollout follow-up, what keeps two
 * deliveries for one repository apart (default: in this process; src/server.ts passes Redis with REDIS_URL),
 * and, from src/server.ts, the pending-work ledger (`pending`: answer at once, work after the answer; without
 * it a delivery is answered when its work is done) and the missed-delivery recovery (`recovery`).
 */
export type AppDeps = DeployDeps & {
  rolloutScheduler?: Scheduler;
  serial?: RepoSerializer;
  pending?: PendingWork;
  recovery?: RecoverySettings & { lock?: RecoveryLock; resumeWindowMs?: number };
  /** Who follows which deployment (default: this process; the server passes Redis leases with REDIS_URL). */
  rolloutClaims?: FollowClaims;
  /** Look for unfinished rollout follow-ups on start (and sweep with shared claims): the server does. */
  resumeRollouts?: boolean;
};

/** The App with its collaborators chosen (tests pass a registry on 127.0.0.1 and a fixed clock). */
export function nomadGitops(deps: AppDeps = {}) {
  const serial = deps.serial ?? localSerializer();
  deps = { ...deps, rolloutClaims: deps.rolloutClaims ?? localClaims() };
  const pending = deps.pending;
  const accept = (context: Context, work: () => Promise<void>) =>
    pending ? pending.accept(context, work) : work();
  const inRepo = (context: Context, work: () => Promise<void>) =>
    accept(context, () =>
      serial.run(
        (context.payload as { repository?: { full_name: string } }).repository?.full_name.toLowerCase() ?? "",
        work,
      ),
    );
  return (app: Probot): void => {
    // The dashboard issue is looked up among the App's own issues: its login, asked once per process.
    let login: Promise<string | undefined> | undefined;
    deps = {
      botLogin: () => (login ??= app.auth().then(appBotLogin)),
      ...deps,
    };
    registerSecretsFromEnv(process.env);
    if (deps.nomadEnv) registerSecretsFromEnv(deps.nomadEnv);
    if (deps.resumeRollouts) {
      scheduleResume(app, {
        scheduler: deps.rolloutScheduler ?? realScheduler({ unref: true }),
        claims: deps.rolloutClaims!,
        log: app.log,
        ...(deps.nomadEnv ? { env: deps.nomadEnv } : {}),
      });
    }
    // Every handler logs, writes and fails through the one redaction function (handlers/redacted.ts).
    app.on(
      "push",
      redacted((context) => inRepo(context, () => onPush(context))),
    );
    app.on(
      "workflow_run.completed",
      redacted((context) => inRepo(context, () => onWorkflowRunCompleted(context, deps))),
    );
    app.on(
      "check_run.rerequested",
      redacted((context) => inRepo(context, () => onCheckRunRerequested(context, deps))),
    );
    app.on(
      "pull_request.closed",
      redacted((context) => inRepo(context, () => onPullRequestClosed(context, deps))),
    );
    app.on(
      "issues.edited",
      redacted((context) => inRepo(context, () => onDashboardEdited(context, deps))),
    );
    app.on(
      "merge_group.checks_requested",
      redacted((context) => accept(context, () => onMergeGroupChecksRequested(context))),
    );
    app.on(
      ["pull_request.opened", "pull_request.synchronize", "pull_request.reopened"],
      redacted((context) => accept(context, () => onPullRequestChanged(context))),
    );
    // Deliveries a dead replica held are run again here as if they had just arrived.
    pending?.start((d: PendingDelivery) => app.receive(d as Parameters<Probot["receive"]>[0]), app.log);
    if (deps.recovery) {
      scheduleRecovery({
        appOctokit: () => app.auth(),
        settings: deps.recovery,
        log: app.log,
        startedAt: new Date(),
        ...(deps.recovery.lock ? { lock: deps.recovery.lock } : {}),
        ...(deps.recovery.resumeWindowMs !== undefined
          ? { resumeWindowMs: deps.recovery.resumeWindowMs }
          : {}),
      });
    }
  };
}

export default nomadGitops();
