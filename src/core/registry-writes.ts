// Step 5, registry writes (apply only): the configured tags on unchanged images, and the build tag on a
// moved image pinned without having been pushed under it. A failed retag turns that unchanged service
// into an error; the others proceed.
import { mapLimit } from "./concurrency.js";
import { type Plan, type ServicePlan, countStatuses } from "./plan.js";
import type { ProgressEvent, RegistryAction, RegistryPort } from "./ports.js";
import { errorMessage } from "./resolve.js";

/** The tags a service's image gets on apply (none for most moves: the build pushed them). */
function tagsToAdd(s: ServicePlan): string[] {
  if (s.status === "unchanged") return s.retag;
  // Pinned from a digest-only ref or an unpushed archive: make sure "image:tag" exists (no-op if so).
  if ((s.status === "moved" || s.status === "new") && s.next?.digest && !s.next.tagged) return [s.next.tag];
  return [];
}

export async function writeRegistry(
  registry: RegistryPort,
  planned: Plan,
  run: { actions: RegistryAction[]; progress: (e: ProgressEvent) => void; limit: number },
): Promise<Plan> {
  const failures = new Map<string, string>();
  await mapLimit(planned.services, run.limit, async (s) => {
    const tags = tagsToAdd(s);
    if (tags.length === 0 || !s.next?.digest) return;
    const ref = `${s.image}@${s.next.digest}`;
    run.progress({ kind: "service", service: s.name, step: "retag", done: false });
    try {
      const out = await registry.retag(ref, tags);
      for (const r of out)
        run.actions.push({ service: s.name, action: "retag", ref, tags: [r.tag], result: r.status });
      const detail = out.map((r) => `${r.tag} ${r.status}`).join(", ");
      run.progress({ kind: "service", service: s.name, step: "retag", done: true, detail });
    } catch (error) {
      const reason = errorMessage(error);
      run.actions.push({ service: s.name, action: "retag", ref, tags, result: "failed", detail: reason });
      failures.set(s.name, `retag ${tags.join(", ")}: ${reason}`);
    }
  });
  if (failures.size === 0) return planned;
  const services = planned.services.map((s) =>
    failures.has(s.name) && s.status === "unchanged"
      ? { ...s, status: "error" as const, reason: failures.get(s.name)! }
      : s,
  );
  return { ...planned, services, counts: countStatuses(services) };
}
