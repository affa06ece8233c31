// V8's optimizing compiler, tuned for a short run (the CLI's plan and apply, the Action; not the App).
//
// V8's defaults suit pages and servers that run for minutes: once a function has run a while, TurboFan
// compiles it again, optimized, on a background thread. A CLI run lasts a second or two, and on a
// 2-CPU runner that background CPU is wall time. Measured on `plan` for 500 services, 10 moved
// (BENCHMARKS.md, plan): TurboFan spent ~0.5 s compiling, 0.36 s of it on hcl2-parser's scanner alone
// (one function, a generated state machine of 22 KB of bytecode, compiled twice: once, then again for
// on-stack replacement) during 20 readings of small files that it hardly sped up. So a short run:
//  - optimizes no function larger than 16 KiB of bytecode (V8's default: 60 KiB). Optimizing one costs
//    time that grows faster than its size, and pays back only over thousands of calls;
//  - on V8 11 (Node 20), where TurboFan is the only optimizing tier, waits for twice as much work
//    (the interrupt budget) before it optimizes a function. V8 12 and later tier through Maglev first
//    and name this budget differently; there the budget is left alone (measured: no gain on Node 24).
// A long run still optimizes what is hot, a little later: the 5 MB job file of the memory bench took
// less CPU with these settings than without (BENCHMARKS.md, memory).
//
// Where: the CLI's `plan` and `apply`, and the Action: the runs that prove edits with the referee. Not
// every command: setting a V8 flag at run time changes V8's flag hash, and Node's own modules loaded
// after it are then compiled without their built-in code cache (measured: ~15 ms more for 15 modules,
// `images` start-up 249 → 281 ms), which a run that never reads with the referee only pays.
//
// Flags given on node's own command line win: they are not set again. Flags change V8's code-cache
// tag (v8.cachedDataVersionTag), which is why src/code-cache.ts names its files with that tag.
import v8 from "node:v8";

/**
 * V8 flags (name, value) for a short run on this V8. Only on the V8 lines checked (11, 12, 13: Node 20,
 * 22, 24): V8 prints an error for a flag it does not know, and flags come and go between its versions.
 */
export function shortRunFlags(v8Version: string = process.versions.v8): Array<[string, number]> {
  const major = Number.parseInt(v8Version, 10);
  if (!(major >= 11 && major <= 13)) return [];
  const flags: Array<[string, number]> = [["max-optimized-bytecode-size", 16 * 1024]];
  // 66 KiB is V8 11's default.
  if (major === 11) flags.push(["interrupt-budget", 2 * 66 * 1024]);
  return flags;
}

/**
 * Sets shortRunFlags, except those given on node's command line (`execArgv`); returns what it set.
 * Call it first thing: code compiled before it is tiered by V8's defaults.
 */
export function tuneForShortRun(execArgv: readonly string[] = process.execArgv): string[] {
  const given = (name: string) =>
    execArgv.some((arg) => {
      const flag = arg.replace(/^--?/, "").split("=")[0]!.replace(/_/g, "-");
      return flag === name || flag === `no-${name}`;
    });
  const set = shortRunFlags()
    .filter(([name]) => !given(name))
    .map(([name, value]) => `--${name}=${value}`);
  if (set.length > 0) v8.setFlagsFromString(set.join(" "));
  return set;
}
