// Turns the paths given to `svcspec run` (files, directories, globs) into the ordered list of
// spec files. Order is deterministic — arguments in the order given, each directory or glob's
// matches sorted — because reports list files in this order whatever the workers' timing.

import { statSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";

export const SPEC_EXTENSION = ".svcspec";

export interface ResolvedPaths {
  /** Spec files, relative to cwd when inside it, forward slashes. */
  files: string[];
  /** One message per path argument that matched nothing. */
  errors: string[];
}

function toDisplayPath(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  const shown = rel === "" || rel.startsWith("..") || isAbsolute(rel) ? abs : rel;
  return shown.split("\\").join("/");
}

function statOrNull(p: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

export async function resolveSpecPaths(paths: string[], cwd: string): Promise<ResolvedPaths> {
  const files: string[] = [];
  const seen = new Set<string>();
  const errors: string[] = [];
  const add = (abs: string): void => {
    if (seen.has(abs)) return;
    seen.add(abs);
    files.push(toDisplayPath(abs, cwd));
  };

  for (const arg of paths) {
    const abs = resolve(cwd, arg);
    const st = statOrNull(abs);
    if (st?.isDirectory()) {
      const found = await glob(`**/*${SPEC_EXTENSION}`, { cwd: abs, ignore: ["**/node_modules/**"], expandDirectories: false });
      if (found.length === 0) errors.push(`${arg}: no ${SPEC_EXTENSION} files in this directory`);
      for (const f of found.sort()) add(join(abs, f));
    } else if (st?.isFile()) {
      add(abs);
    } else if (isDynamicPattern(arg)) {
      const found = await glob(arg, { cwd, ignore: ["**/node_modules/**"], expandDirectories: false, absolute: true });
      if (found.length === 0) errors.push(`${arg}: the pattern matches no file`);
      for (const f of found.sort()) add(resolve(f));
    } else {
      errors.push(`${arg}: no such file or directory`);
    }
  }
  return { files, errors };
}
