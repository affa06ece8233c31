// Which images are services, and where each one is pinned. Pure: works on already-scanned job files.
import { type Config, DEFAULT_JOB_GLOBS } from "../config/schema.js";
import type { ImageSite, JobFileScan, ValueRead } from "../jobfile/jobfile.js";
import { canonicalRepository, repositoryOf } from "../image/reference.js";
import { matchesAny } from "./glob.js";

type ConfiguredService = NonNullable<Config["services"]>[number];

export interface ScannedJobFile {
  path: string;
  scan: JobFileScan;
}

/** One `image` site of a service in one job file. */
export interface ServiceSite {
  file: string;
  line: number;
  job: string | null;
  group: string | null;
  task: string | null;
  driver: string | null;
  via: ImageSite["via"];
  /** The reference as written (or the variable/local literal it resolves to). */
  reference: string;
  tag: string | null;
  digest: string | null;
  /** Why the engine cannot edit it; undefined when it can. */
  reason?: string;
  /** What would make it pinnable (with `reason`). */
  hint?: string;
}

export interface DiscoveredService {
  name: string;
  /** Repository the service's images live in (as configured, or as written in the job files). */
  image: string;
  /** Globs whose commits go into the release notes. */
  paths: string[];
  /** From `services`, or found through `registry`. */
  discovered: boolean;
  /** Sites the engine can edit. */
  sites: ServiceSite[];
  /** Sites of this image that the engine cannot edit (reported, never touched). */
  unmanaged: ServiceSite[];
}

export interface FileError {
  file: string;
  line: number | null;
  error: string;
}

/** A site whose image could not be resolved to a reference at all (function call, template, ...). */
export interface UnknownSite {
  file: string;
  line: number;
  task: string | null;
  reason: string;
}

/** A config key that selects nothing (a glob matching no file, a prefix no image is under). */
export interface ConfigProblem {
  /** Where in the config: "jobs[0]", "services[2].jobs[1]", "registry", "services[1].image". */
  key: string;
  message: string;
}

export interface Discovery {
  services: DiscoveredService[];
  fileErrors: FileError[];
  unknownSites: UnknownSite[];
  configProblems: ConfigProblem[];
}

/** Every glob a run has to read: the config's job globs plus each service's own `jobs`. */
export function jobGlobs(config: Config): string[] {
  const globs = new Set(config.jobs);
  for (const s of config.services ?? []) for (const g of s.jobs ?? []) globs.add(g);
  return [...globs];
}

function toSite(file: string, site: ImageSite): ServiceSite {
  const out: ServiceSite = {
    file,
    line: site.line,
    job: site.job,
    group: site.group,
    task: site.task,
    driver: site.driver,
    via: site.via,
    reference: site.reference ?? "",
    tag: site.ref?.tag ?? null,
    digest: site.ref?.digest ?? null,
  };
  if (!site.managed) out.reason = site.reason ?? "not editable";
  if (!site.managed && site.hint !== undefined) out.hint = site.hint;
  return out;
}

const byPosition = (a: ServiceSite, b: ServiceSite) => a.file.localeCompare(b.file) || a.line - b.line;

/**
 * Whether a site of repository `canonical` in `file` belongs to a configured service: its image, in its
 * own `jobs` files, or (without `jobs`) in the config's job files.
 */
function serviceOwns(config: Config, service: ConfiguredService, file: string, canonical: string): boolean {
  if (configured(config, service.image) !== canonical) return false;
  return matchesAny(file, service.jobs ?? config.jobs);
}

/**
 * The canonical repository of a config's `image` or `registry`, parsed once per config: every site of
 * every file is compared with each service's (500 services and 500 sites: a quarter million parses).
 */
const canonicalOfConfig = new WeakMap<Config, Map<string, string>>();
function configured(config: Config, repository: string): string {
  let known = canonicalOfConfig.get(config);
  if (!known) canonicalOfConfig.set(config, (known = new Map()));
  let canonical = known.get(repository);
  if (canonical === undefined) known.set(repository, (canonical = canonicalRepository(repository)));
  return canonical;
}

/** Without `services`: whether a repository lies under the `registry` prefix, in the config's job files. */
function underRegistry(config: Config, file: string, canonical: string): boolean {
  const prefix = configured(config, config.registry!);
  return (canonical === prefix || canonical.startsWith(`${prefix}/`)) && matchesAny(file, config.jobs);
}

/**
 * The repository a site will be resolved under (the image of the service that owns it), so tag lookups
 * can start while the other files are still being parsed. Null when the site is no service's.
 */
export function owningImage(config: Config, file: string, site: ImageSite): string | null {
  if (!site.managed || site.ref === null) return null;
  const repository = repositoryOf(site.ref);
  const canonical = canonicalRepository(repository);
  if (config.services !== undefined)
    return config.services.find((s) => serviceOwns(config, s, file, canonical))?.image ?? null;
  return underRegistry(config, file, canonical) ? repository : null;
}

/**
 * @param listed every path the job globs and the `vars` files matched (default: the scanned files, and
 *   then a `vars` file is not checked for existence), to tell a glob that matches nothing from one
 *   whose files could not be read.
 */
export function discoverServices(
  config: Config,
  files: readonly ScannedJobFile[],
  listed?: readonly string[],
): Discovery {
  const fileErrors: FileError[] = [];
  const unknownSites: UnknownSite[] = [];
  const sorted = [...files].sort((a, b) => a.path.localeCompare(b.path));

  const sites: Array<{ file: string; site: ImageSite; canonical: string }> = [];
  for (const file of sorted) {
    if (!file.scan.ok) {
      fileErrors.push({ file: file.path, line: file.scan.line, error: file.scan.error });
      continue;
    }
    for (const site of file.scan.images) {
      if (site.ref === null) {
        unknownSites.push({
          file: file.path,
          line: site.line,
          task: site.task,
          reason: site.reason ?? "not a valid image reference",
        });
        continue;
      }
      sites.push({ file: file.path, site, canonical: canonicalRepository(repositoryOf(site.ref)) });
    }
  }
  const services =
    config.services !== undefined
      ? config.services.map((s) =>
          makeService(
            s.name,
            s.image,
            s.paths,
            false,
            sites.filter((x) => serviceOwns(config, s, x.file, x.canonical)),
          ),
        )
      : registryServices(
          config,
          sites.filter((x) => underRegistry(config, x.file, x.canonical)),
        );
  services.sort((a, b) => a.name.localeCompare(b.name));
  const seen = [...new Set(sites.map((x) => x.canonical))];
  const index = indexSites(sites);
  const reads = sorted.flatMap((f) =>
    f.scan.ok ? (f.scan.reads ?? []).map((read) => ({ ...read, from: f.path })) : [],
  );
  return {
    services: services.map((s) => oneOwnerPerLiteral(s, services, index, reads)),
    fileErrors,
    unknownSites,
    configProblems: configProblems(config, files, listed, services, seen),
  };
}

const literalKey = (file: string, site: ImageSite) =>
  site.literal ? `${site.literal.file ?? file}:${site.literal.offset}` : null;

type Located = { file: string; site: ImageSite };

/** The sites by file and line (the first one there), and by the literal they read (in order). */
interface SiteIndex {
  at(file: string, line: number): Located | undefined;
  reading(key: string): readonly Located[];
}

// Each service asks for its own sites: an index instead of a search through all of them per site.
function indexSites(sites: readonly Located[]): SiteIndex {
  const byLine = new Map<string, Map<number, Located>>();
  const byLiteral = new Map<string, Located[]>();
  for (const x of sites) {
    let lines = byLine.get(x.file);
    if (!lines) byLine.set(x.file, (lines = new Map()));
    if (!lines.has(x.site.line)) lines.set(x.site.line, x);
    const key = literalKey(x.file, x.site);
    if (key === null) continue;
    const readers = byLiteral.get(key);
    if (readers) readers.push(x);
    else byLiteral.set(key, [x]);
  }
  return {
    at: (file, line) => byLine.get(file)?.get(line),
    reading: (key) => byLiteral.get(key) ?? [],
  };
}

/**
 * A literal that several image sites read (a shared variable, a var file value) is pinned only when
 * every site reading it belongs to this one service: otherwise pinning it would move another
 * service's image (or an image no service owns) as well.
 */
function oneOwnerPerLiteral(
  service: DiscoveredService,
  services: readonly DiscoveredService[],
  sites: SiteIndex,
  reads: ReadonlyArray<ValueRead & { from: string }>,
): DiscoveredService {
  const owned = (s: DiscoveredService, file: string, line: number) =>
    s.sites.some((x) => x.file === file && x.line === line);
  const ownerOf = (file: string, line: number) => services.find((s) => s !== service && owned(s, file, line));
  const hint =
    "give each service its own variable or local, or use the value only in image sites of one service";
  const moved: ServiceSite[] = [];
  const keep = service.sites.filter((x) => {
    const own = sites.at(x.file, x.line);
    const key = own && literalKey(x.file, own.site);
    if (!key) return true;
    const others = sites.reading(key).filter((y) => y !== own && !owned(service, y.file, y.site.line));
    if (others.length > 0) {
      const o = others[0]!;
      const owner = ownerOf(o.file, o.site.line);
      moved.push({
        ...x,
        reason: `its value is also the image at ${o.file}:${o.site.line}, which ${owner ? `belongs to service ${owner.name}` : "belongs to no service"}`,
        hint,
      });
      return false;
    }
    // Every other read of a value written in another file (a var file, a pack's variables): an image
    // this service pins with the same literal, or the pin would change what that file reads as well
    // (an unmanaged image, another service's, a value used outside image sites).
    const literal = own.site.literal!;
    if (literal.file === null) return true;
    const foreign = reads.find((r) => {
      if (r.file !== literal.file || literal.offset < r.start || literal.offset >= r.end) return false;
      if (r.site === undefined) return true;
      const reader = sites.at(r.from, r.site);
      return !reader || literalKey(r.from, reader.site) !== key || !owned(service, r.from, r.site);
    });
    if (!foreign) return true;
    const owner = foreign.site === undefined ? undefined : ownerOf(foreign.from, foreign.site);
    const what =
      foreign.site === undefined
        ? "outside an image site"
        : owner
          ? `by an image of service ${owner.name}`
          : "by an image that is not pinned with it";
    moved.push({
      ...x,
      reason: `its value in ${literal.file} is also read at ${foreign.from}:${foreign.line}, ${what}`,
      hint,
    });
    return false;
  });
  if (moved.length === 0) return service;
  return { ...service, sites: keep, unmanaged: [...service.unmanaged, ...moved].sort(byPosition) };
}

/**
 * Keys that select nothing: every glob that matches no file (the top-level `jobs` only when some service
 * uses them), a `vars` glob that matches no job file or names a var file that does not exist, and with
 * `registry` alone, a prefix no image in the job files is under (a typo, usually). A configured service
 * that no job file uses is its own error (plan.ts), named by its key too.
 */
function configProblems(
  config: Config,
  files: readonly ScannedJobFile[],
  listing: readonly string[] | undefined,
  services: readonly DiscoveredService[],
  seen: readonly string[],
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const listed = listing ?? files.map((f) => f.path);
  const unmatched = (
    globs: readonly string[],
    key: (i: number) => string,
    among: readonly string[] = listed,
    what = "file",
  ) =>
    globs.forEach((glob, i) => {
      if (!among.some((p) => matchesAny(p, [glob])))
        problems.push({ key: key(i), message: `${JSON.stringify(glob)} matches no ${what}` });
    });
  const usesJobs = config.services === undefined || config.services.some((s) => s.jobs === undefined);
  const isDefault =
    config.jobs.length === DEFAULT_JOB_GLOBS.length &&
    config.jobs.every((g, i) => g === DEFAULT_JOB_GLOBS[i]);
  if (usesJobs && !isDefault) unmatched(config.jobs, (i) => `jobs[${i}]`);
  else if (usesJobs && !listed.some((p) => matchesAny(p, config.jobs)))
    problems.push({ key: "jobs", message: `no file matches the default ${config.jobs.join(", ")}` });
  config.services?.forEach((s, i) => unmatched(s.jobs ?? [], (j) => `services[${i}].jobs[${j}]`));
  // A `vars` glob is matched against the job files (what the job globs selected), as Nomad would be
  // given -var-file for a job; its files must exist (a missing -var-file makes `nomad job run` fail).
  const vars = Object.entries(config.vars);
  const varsKey = (glob: string) => `vars[${JSON.stringify(glob)}]`;
  unmatched(
    vars.map(([glob]) => glob),
    (i) => varsKey(vars[i]![0]),
    files.map((f) => f.path),
    "job file",
  );
  if (listing !== undefined) {
    for (const [glob, names] of vars) {
      names.forEach((name, j) => {
        if (!listing.includes(name))
          problems.push({
            key: `${varsKey(glob)}[${j}]`,
            message: `var file ${JSON.stringify(name)} does not exist`,
          });
      });
    }
  }
  if (config.services === undefined && services.length === 0) {
    const some = seen.slice(0, 5).join(", ");
    problems.push({
      key: "registry",
      message: `no image in the job files is under ${config.registry}${some ? ` (they use ${some}${seen.length > 5 ? ", …" : ""})` : ""}`,
    });
  }
  return problems;
}

/** Without `services`: one service per repository under the prefix, named after its last path part. */
function registryServices(
  config: Config,
  sites: ReadonlyArray<{ file: string; site: ImageSite; canonical: string }>,
): DiscoveredService[] {
  const prefix = canonicalRepository(config.registry!);
  const groups = new Map<string, Array<(typeof sites)[number]>>();
  for (const x of sites) {
    const list = groups.get(x.canonical) ?? [];
    list.push(x);
    groups.set(x.canonical, list);
  }
  const lastPart = (canonical: string) => canonical.slice(canonical.lastIndexOf("/") + 1);
  const counts = new Map<string, number>();
  for (const canonical of groups.keys())
    counts.set(lastPart(canonical), (counts.get(lastPart(canonical)) ?? 0) + 1);
  return [...groups].map(([canonical, list]) => {
    // Two repositories ending in the same name keep their path under the prefix to stay apart.
    const name =
      counts.get(lastPart(canonical)) === 1 || canonical === prefix
        ? lastPart(canonical)
        : canonical.slice(prefix.length + 1);
    return makeService(name, repositoryOf(list[0]!.site.ref!), [], true, list);
  });
}

function makeService(
  name: string,
  image: string,
  paths: string[],
  discovered: boolean,
  found: Array<{ file: string; site: ImageSite }>,
): DiscoveredService {
  const all = found.map((x) => toSite(x.file, x.site)).sort(byPosition);
  return {
    name,
    image,
    paths,
    discovered,
    sites: all.filter((s) => s.reason === undefined),
    unmanaged: all.filter((s) => s.reason !== undefined),
  };
}
