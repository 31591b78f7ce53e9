// "did you mean ...?" for misspelt keywords and names. Shared: the world layer uses it for
// unknown node, pod, client, Service and port names.

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions, each edit
 * costing 1): `ngnix` → `nginx` is 1, the most common typo of all.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  if (n === 0) return m;
  if (m === 0) return n;
  // Three rolling rows: the transposition step looks two rows back.
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = new Array<number>(m + 1);
  let cur = new Array<number>(m + 1);
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    for (let j = 1; j <= m; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[m]!;
}

/**
 * The candidate closest to `word`, or undefined when none is close enough to be a plausible
 * typo. A candidate equal ignoring case always wins (`nodeport` → `NodePort`). Otherwise the
 * allowed distance grows with the word: 1 edit up to 4 characters, 2 up to 8, then 3 — short
 * words with many edits are different words, not typos. Ties go to the earlier candidate.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  for (const c of candidates) {
    if (c === word) continue;
    const cl = c.toLowerCase();
    if (cl === lower) return c;
    const d = editDistance(lower, cl);
    if (d <= limit && d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
