// Interface name matching as `-i`/`-o`/`--physdev-in` do it: exact, or a prefix with `+`.

export function ifaceMatches(actual: string, pattern: string): boolean {
  if (pattern.endsWith("+")) return actual.startsWith(pattern.slice(0, -1));
  return actual === pattern;
}

/** IFNAMSIZ is 16 including the NUL; `+` alone means "any interface". */
export function validIfaceName(s: string): boolean {
  return s.length > 0 && s.length <= 15 && !/[\s/]/.test(s);
}
