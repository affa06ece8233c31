// What "nothing written twice" means, read from the stand-in's state of one repository: each entry
// names a duplicate (empty: none).
import type { GitHubStandIn } from "../helpers/github-api/index.js";

export function duplicates(api: GitHubStandIn, fullName: string): string[] {
  const repo = api.repo(fullName);
  const out: string[] = [];
  const twice = <T>(items: T[], key: (t: T) => string, what: string) => {
    const seen = new Map<string, number>();
    for (const item of items) seen.set(key(item), (seen.get(key(item)) ?? 0) + 1);
    for (const [k, n] of seen) if (n > 1) out.push(`${what} ${k} ×${n}`);
  };
  twice(repo.pulls, (p) => `${p.head}→${p.base}`, "PR");
  twice(
    repo.comments.filter((c) => c.user.type === "Bot" && c.body.includes("<!-- nomad-gitops:images -->")),
    (c) => `#${c.issue}`,
    "sticky comment on",
  );
  // Two bot commits with the same tree on the same parent are the same deploy written twice.
  twice(
    repo.createdCommits.map((sha) => api.store.commits.get(sha)!),
    (c) => `tree ${c.tree} on ${c.parents.join(",")}`,
    "commit of",
  );
  // One run per attempt (the App marks each in its external_id); two for one attempt are a duplicate.
  twice(repo.checkRuns, (r) => `${r.name}@${r.headSha}#${r.externalId ?? ""}`, "check run");
  twice(repo.deployments, (d) => `${d.sha}/${d.environment}/${JSON.stringify(d.payload)}`, "deployment");
  for (const d of repo.deployments) {
    d.statuses.forEach((s, i) => {
      const before = d.statuses[i - 1];
      if (before && before.state === s.state && before.description === s.description)
        out.push(`deployment ${d.id} status ${s.state} "${s.description}" twice in a row`);
    });
  }
  return out;
}
