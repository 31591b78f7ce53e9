// Reading a namespace's conntrack table (/proc/net/nf_conntrack, so the conntrack tool is not
// needed) and following one flow through the nodes it crossed. Each node that NATs a flow keeps
// an entry whose original tuple is what arrived and whose reply tuple, reversed, is what left:
// chaining "what left node A" to "what arrived at node B" gives the path and every rewrite.

export interface Tuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface ConntrackEntry {
  protocol: string;
  state: string | null;
  original: Tuple;
  reply: Tuple;
  flags: string[];
  /** The entry as `conntrack -L` prints it (without /proc's leading "ipv4 2"). */
  text: string;
}

export function parseConntrack(procText: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  for (const raw of procText.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const words = line.split(/\s+/);
    // "ipv4 2 tcp 6 117 SYN_SENT src=..." or "ipv4 2 udp 17 29 src=..."
    const offset = words[0] === "ipv4" || words[0] === "ipv6" ? 2 : 0;
    const protocol = words[offset] ?? "";
    let state: string | null = null;
    const tuples: Array<Partial<Tuple>> = [];
    const flags: string[] = [];
    for (const w of words.slice(offset + 3)) {
      const eq = w.indexOf("=");
      if (eq < 0) {
        if (w.startsWith("[")) flags.push(w.replace(/[[\]]/g, ""));
        else if (tuples.length === 0) state = w;
        continue;
      }
      const key = w.slice(0, eq);
      const value = w.slice(eq + 1);
      if (key === "src") tuples.push({ src: value });
      const t = tuples[tuples.length - 1];
      if (!t) continue;
      if (key === "dst" && t.dst === undefined) t.dst = value;
      // ICMP flows are keyed by id; treat it as both ports so chaining works the same way.
      else if ((key === "sport" || key === "id") && t.sport === undefined) {
        t.sport = Number(value);
        if (key === "id") t.dport = Number(value);
      } else if (key === "dport" && t.dport === undefined) t.dport = Number(value);
    }
    const [o, r] = tuples;
    if (!o || !r || o.dst === undefined || r.dst === undefined) continue;
    entries.push({
      protocol,
      state,
      original: { src: o.src!, dst: o.dst, sport: o.sport ?? 0, dport: o.dport ?? 0 },
      reply: { src: r.src!, dst: r.dst, sport: r.sport ?? 0, dport: r.dport ?? 0 },
      flags,
      text: words.slice(offset).join(" "),
    });
  }
  return entries;
}

export interface FlowHop {
  host: string;
  entry: ConntrackEntry;
  /** What the packet looked like when it left this host (the reply tuple reversed). */
  out: Tuple;
  /** Source rewritten here (SNAT/MASQUERADE). */
  snat: boolean;
  /** Destination rewritten here (DNAT). */
  dnat: boolean;
}

/**
 * Follows a flow that started as `first` at host `from` through the hosts' conntrack tables, in
 * path order. `first.src` may be "" when the client's source address is not known (a connect
 * that failed before the socket reported it): the source port, chosen unique per attempt, then
 * identifies it. A hop that does not rewrite the flow leaves the same tuple on the next host,
 * so several hosts can match: the one `adjacent` to the previous hop (sharing an L2 segment)
 * comes first.
 */
export function followFlow(
  protocol: string,
  first: Tuple,
  tables: Map<string, ConntrackEntry[]>,
  from = "",
  adjacent: (a: string, b: string) => boolean = () => false,
): FlowHop[] {
  const hops: FlowHop[] = [];
  const visited = new Set<string>();
  let cur = first;
  let prev = from;
  for (let step = 0; step < tables.size; step++) {
    const candidates: FlowHop[] = [];
    for (const [host, entries] of tables) {
      if (visited.has(host)) continue;
      const entry = entries.find(
        (e) =>
          e.protocol === protocol &&
          e.original.dst === cur.dst &&
          e.original.sport === cur.sport &&
          e.original.dport === cur.dport &&
          (cur.src === "" || e.original.src === cur.src),
      );
      if (!entry) continue;
      const out: Tuple = { src: entry.reply.dst, dst: entry.reply.src, sport: entry.reply.dport, dport: entry.reply.sport };
      candidates.push({
        host,
        entry,
        out,
        snat: out.src !== entry.original.src || out.sport !== entry.original.sport,
        dnat: out.dst !== entry.original.dst || out.dport !== entry.original.dport,
      });
    }
    if (candidates.length === 0) break;
    const found = candidates.find((c) => c.host === prev) ?? candidates.find((c) => adjacent(prev, c.host)) ?? candidates[0]!;
    hops.push(found);
    visited.add(found.host);
    prev = found.host;
    // Rewritten or not, what left this host is what the next host's entry saw arrive (and it
    // now names the real source address, even when the first tuple did not).
    cur = found.out;
  }
  return hops;
}
