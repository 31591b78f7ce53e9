// Which scenarios a run executes: --grep, --tag and --shard. Kept as plain data (SelectionSpec)
// because it crosses into worker threads, where it is rebuilt into the same predicate: a
// worker and the main thread must agree exactly on what is selected.

import type { ScenarioRef } from "./executor-api.js";

export interface Shard {
  /** 1-based index of this shard. */
  index: number;
  total: number;
}

export interface SelectionSpec {
  /** --grep: a regular expression source matched against scenario titles. */
  grep?: { source: string; flags: string };
  /** --tag: a scenario is selected when it carries at least one of these tags. */
  tags: string[];
  shard?: Shard;
}

/**
 * FNV-1a, 32 bits. A stable hash: the same on every machine, Node version and run, which is
 * what lets N CI machines split the scenarios between them without talking to each other.
 */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The path as used in shard keys: forward slashes, no leading "./", so Windows and Linux agree. */
export function shardPath(file: string): string {
  return file.replace(/\\/g, "/").replace(/^(\.\/)+/, "");
}

/** The shard (1-based) a scenario belongs to. */
export function shardOfScenario(file: string, title: string, total: number): number {
  return (stableHash(`${shardPath(file)}\u0000${title}`) % total) + 1;
}

/** The shard (1-based) that reports a file's input errors, when the file has no scenarios to split. */
export function shardOfFile(file: string, total: number): number {
  return (stableHash(shardPath(file)) % total) + 1;
}

export function inShard(s: Pick<ScenarioRef, "file" | "title">, shard: Shard | undefined): boolean {
  return !shard || shardOfScenario(s.file, s.title, shard.total) === shard.index;
}

/** Parses "I/N" (1 ≤ I ≤ N). Returns an error message for people, or the shard. */
export function parseShard(text: string): Shard | string {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return `--shard expects I/N (for example 2/4), got "${text}"`;
  const index = Number(m[1]);
  const total = Number(m[2]);
  if (total < 1) return `--shard ${text}: the number of shards must be at least 1`;
  if (index < 1 || index > total) return `--shard ${text}: the shard index must be between 1 and ${total}`;
  return { index, total };
}

/** Whether a scenario passes --grep and --tag (shard aside: out-of-shard scenarios are not reported at all). */
export function makeFilter(spec: SelectionSpec): (s: ScenarioRef) => boolean {
  const re = spec.grep ? new RegExp(spec.grep.source, spec.grep.flags) : null;
  const tags = spec.tags;
  return (s) => {
    if (re) {
      re.lastIndex = 0;
      if (!re.test(s.title)) return false;
    }
    if (tags.length > 0 && !s.tags.some((t) => tags.includes(t))) return false;
    return true;
  };
}

/**
 * The predicate handed to the executor for one file: in this shard and through the filters.
 * The shard key uses the runner's path for the file, whatever spelling the executor reports.
 */
export function makeSelect(spec: SelectionSpec, file: string): (s: ScenarioRef) => boolean {
  const filter = makeFilter(spec);
  return (s) => inShard({ file, title: s.title }, spec.shard) && filter(s);
}
