// The canonical order upstream's unit tests compare in (proxier_test.go sortIPTablesRules):
// tables by name; in each, KUBE-NODEPORTS, KUBE-SERVICES, the other KUBE-* chains by name, then
// the rest by name; KUBE-NODEPORTS and KUBE-SERVICES rules stably ordered by the service name in
// their comment, the "must be the last rule" rule kept last. The output is printed as the
// upstream dump prints it: every chain line, then each chain's rules, then "-X" lines.

interface DumpRule {
  raw: string;
  /** The comment value (quotes stripped), or null when the rule has none. */
  comment: string | null;
}

interface DumpChain {
  name: string;
  declaration: string | null;
  rules: DumpRule[];
  deleted: boolean;
}

interface DumpTable {
  name: string;
  chains: DumpChain[];
}

/** Parse restore text; throws on text that is not an iptables-restore dump. */
export function parseRestoreDump(text: string): DumpTable[] {
  const tables: DumpTable[] = [];
  let table: DumpTable | null = null;
  const chainOf = (name: string): DumpChain => {
    let c = table!.chains.find((x) => x.name === name);
    if (!c) {
      c = { name, declaration: null, rules: [], deleted: false };
      table!.chains.push(c);
    }
    return c;
  };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) {
      table = { name: line.slice(1), chains: [] };
      tables.push(table);
      continue;
    }
    if (!table) throw new Error(`line ${i + 1}: rule outside of a table: ${line}`);
    if (line === "COMMIT") {
      table = null;
      continue;
    }
    if (line.startsWith(":")) {
      const name = line.slice(1).split(" ")[0]!;
      chainOf(name).declaration = line;
    } else if (line.startsWith("-A ")) {
      const name = line.slice(3).split(" ")[0]!;
      chainOf(name).rules.push({ raw: line, comment: commentOf(line) });
    } else if (line.startsWith("-X ")) {
      chainOf(line.slice(3).trim()).deleted = true;
    } else {
      throw new Error(`line ${i + 1}: unexpected line: ${line}`);
    }
  }
  return tables;
}

/** The value of `--comment`, unquoted as upstream's rule parser reads it. */
export function commentOf(rule: string): string | null {
  const at = rule.indexOf(" --comment ");
  if (at === -1) return null;
  const rest = rule.slice(at + 11);
  if (rest.startsWith('"')) {
    const end = rest.indexOf('"', 1);
    return end === -1 ? rest.slice(1) : rest.slice(1, end);
  }
  const sp = rest.indexOf(" ");
  return sp === -1 ? rest : rest.slice(0, sp);
}

function serviceNameOfComment(c: string): string {
  const i = c.search(/[ :]/);
  return i === -1 ? c : c.slice(0, i);
}

function orderByCommentServiceName(a: DumpRule, b: DumpRule): boolean {
  if (a.comment === null || b.comment === null) return false;
  return serviceNameOfComment(a.comment) < serviceNameOfComment(b.comment);
}

function chainLess(a: string, b: string): boolean {
  if (a === "KUBE-NODEPORTS") return true;
  if (b === "KUBE-NODEPORTS") return false;
  if (a === "KUBE-SERVICES") return true;
  if (b === "KUBE-SERVICES") return false;
  const ak = a.startsWith("KUBE-");
  const bk = b.startsWith("KUBE-");
  if (ak && !bk) return true;
  if (!ak && bk) return false;
  return a < b;
}

export function sortRestoreCanonical(text: string): string {
  const tables = parseRestoreDump(text);
  tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const t of tables) {
    // Chain names are unique, so any correct sort gives upstream's order.
    t.chains.sort((a, b) => (a.name === b.name ? 0 : chainLess(a.name, b.name) ? -1 : 1));
    const get = (n: string) => t.chains.find((c) => c.name === n);
    const np = get("KUBE-NODEPORTS");
    if (np && (t.name === "filter" || t.name === "nat")) goStableSort(np.rules, orderByCommentServiceName);
    const svcs = get("KUBE-SERVICES");
    if (svcs && t.name === "filter") goStableSort(svcs.rules, orderByCommentServiceName);
    if (svcs && t.name === "nat") {
      const isLast = (r: DumpRule) => r.comment !== null && r.comment.includes("must be the last rule");
      goStableSort(svcs.rules, (a, b) => {
        if (isLast(a)) return false;
        if (isLast(b)) return true;
        return orderByCommentServiceName(a, b);
      });
    }
  }
  let out = "";
  for (const t of tables) {
    out += `*${t.name}\n`;
    for (const c of t.chains) if (!c.deleted) out += `${c.declaration ?? `:${c.name} - [0:0]`}\n`;
    for (const c of t.chains) if (!c.deleted) for (const r of c.rules) out += r.raw + "\n";
    for (const c of t.chains) if (c.deleted) out += `-X ${c.name}\n`;
    out += "COMMIT\n";
  }
  return out;
}

/**
 * Go's sort.SliceStable (insertion sort on blocks of 20, then SymMerge), reproduced so that a
 * "less" that is not a strict weak order (rules without comments) lands exactly where upstream's
 * does.
 */
export function goStableSort<T>(data: T[], less: (a: T, b: T) => boolean): void {
  const n = data.length;
  const lessAt = (i: number, j: number) => less(data[i]!, data[j]!);
  const swap = (i: number, j: number) => {
    const t = data[i]!;
    data[i] = data[j]!;
    data[j] = t;
  };
  const insertionSort = (a: number, b: number) => {
    for (let i = a + 1; i < b; i++) for (let j = i; j > a && lessAt(j, j - 1); j--) swap(j, j - 1);
  };
  const swapRange = (a: number, b: number, k: number) => {
    for (let i = 0; i < k; i++) swap(a + i, b + i);
  };
  const rotate = (a: number, m: number, b: number) => {
    let i = m - a;
    let j = b - m;
    while (i !== j) {
      if (i > j) {
        swapRange(m - i, m, j);
        i -= j;
      } else {
        swapRange(m - i, m + j - i, i);
        j -= i;
      }
    }
    swapRange(m - i, m, i);
  };
  const symMerge = (a: number, m: number, b: number): void => {
    if (m - a === 1) {
      let i = m;
      let j = b;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (lessAt(h, a)) i = h + 1;
        else j = h;
      }
      for (let k = a; k < i - 1; k++) swap(k, k + 1);
      return;
    }
    if (b - m === 1) {
      let i = a;
      let j = m;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (!lessAt(m, h)) i = h + 1;
        else j = h;
      }
      for (let k = m; k > i; k--) swap(k, k - 1);
      return;
    }
    const mid = (a + b) >>> 1;
    const nn = mid + m;
    let start: number;
    let r: number;
    if (m > mid) {
      start = nn - b;
      r = mid;
    } else {
      start = a;
      r = m;
    }
    const p = nn - 1;
    while (start < r) {
      const c = (start + r) >>> 1;
      if (!lessAt(p - c, c)) start = c + 1;
      else r = c;
    }
    const end = nn - start;
    if (start < m && m < end) rotate(start, m, end);
    if (a < start && start < mid) symMerge(a, start, mid);
    if (mid < end && end < b) symMerge(mid, end, b);
  };
  let blockSize = 20;
  let a = 0;
  let b = blockSize;
  while (b <= n) {
    insertionSort(a, b);
    a = b;
    b += blockSize;
  }
  insertionSort(a, n);
  while (blockSize < n) {
    a = 0;
    b = 2 * blockSize;
    while (b <= n) {
      symMerge(a, a + blockSize, b);
      a = b;
      b += 2 * blockSize;
    }
    const m = a + blockSize;
    if (m < n) symMerge(a, m, n);
    blockSize *= 2;
  }
}
