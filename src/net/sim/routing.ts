// Routing as the kernel's FIB does it: a local table (the host's own addresses and 127.0.0.0/8)
// consulted first, then the main table by longest prefix. Connected routes come from interface
// addresses; `via` routes resolve their output device through the connected route that covers
// the gateway (a gateway on no connected subnet is refused, as `ip route add` refuses it).
// Several next hops make an ECMP route: the walk enumerates each one as a branch.

import { fmtCidr, fmtIp, inNet, maskOf, parseCidr } from "./addr.js";
import type { SimIface } from "./host.js";
import type { L2Target } from "./l2.js";

export class NextHop {
  /**
   * The last address ARP was asked for out of this hop, and who answered (Walk.transmit): a
   * gateway's answer never changes once the network is built (a hop's host belongs to one set of
   * segments), and asking the segments took two map lookups per transmit (≈ 3 % of the walk).
   */
  arpFor = -1;
  arpAnswer: L2Target | null = null;

  constructor(
    /** Gateway address, or 0 when the destination is on the link itself. */
    readonly gw: number,
    readonly dev: SimIface,
  ) {}
}

export interface SimRoute {
  net: number;
  mask: number;
  prefix: number;
  hops: NextHop[];
  /** Preferred source (connected routes: the interface address that made the route). */
  src: number;
  connected: boolean;
  /** Gateways that could not be resolved to a device (kept for `ip route`-like diagnostics). */
  invalid: string[];
}

export type RouteResult =
  | { kind: "local" }
  | { kind: "unicast"; route: SimRoute }
  | { kind: "unreachable" };

const LOCAL: RouteResult = { kind: "local" };
const UNREACHABLE: RouteResult = { kind: "unreachable" };

export class RouteTable {
  /** Sorted by prefix length, longest first; connected routes before static ones of equal length. */
  readonly routes: SimRoute[] = [];
  /** The lookup answer of each route, at the same position as the route (made once, not per lookup). */
  private readonly results: RouteResult[] = [];

  constructor(private readonly isLocal: (addr: number) => boolean) {}

  addConnected(net: number, prefix: number, dev: SimIface, src: number): void {
    const mask = maskOf(prefix);
    const n = (net & mask) >>> 0;
    if (this.routes.some((r) => r.connected && r.net === n && r.prefix === prefix && r.hops[0]!.dev === dev)) return;
    this.insert({ net: n, mask, prefix, hops: [new NextHop(0, dev)], src, connected: true, invalid: [] });
  }

  /** Adds a static route; `devOf` finds an interface by name. Returns the route or an error text. */
  addStatic(dst: string, via: number[], dev: SimIface | null): SimRoute {
    const c = parseCidr(dst === "default" ? "0.0.0.0/0" : dst);
    const hops: NextHop[] = [];
    const invalid: string[] = [];
    if (via.length === 0) {
      if (dev) hops.push(new NextHop(0, dev));
    }
    for (const gw of via) {
      const conn = this.routes.find((r) => r.connected && inNet(gw, r.net, r.mask) && (!dev || r.hops[0]!.dev === dev));
      if (conn) hops.push(new NextHop(gw, conn.hops[0]!.dev));
      else invalid.push(fmtIp(gw));
    }
    const route: SimRoute = { net: c.net, mask: c.mask, prefix: c.prefix, hops, src: 0, connected: false, invalid };
    if (hops.length > 0) this.insert(route);
    return route;
  }

  private insert(r: SimRoute): void {
    let i = 0;
    while (i < this.routes.length) {
      const o = this.routes[i]!;
      if (o.prefix < r.prefix || (o.prefix === r.prefix && !o.connected && r.connected)) break;
      i++;
    }
    this.routes.splice(i, 0, r);
    this.results.splice(i, 0, { kind: "unicast", route: r });
  }

  lookup(dst: number): RouteResult {
    if (this.isLocal(dst)) return LOCAL;
    const routes = this.routes;
    for (let i = 0; i < routes.length; i++) {
      const r = routes[i]!;
      if (((dst & r.mask) >>> 0) === r.net) return this.results[i]!;
    }
    return UNREACHABLE;
  }

  /** `ip route` output: default first, then by network address, shorter prefix first. */
  text(): string {
    const sorted = [...this.routes].sort((a, b) => a.net - b.net || a.prefix - b.prefix);
    const lines: string[] = [];
    for (const r of sorted) {
      const dst = r.prefix === 0 ? "default" : r.prefix === 32 ? fmtIp(r.net) : fmtCidr(r);
      if (r.connected) {
        lines.push(`${dst} dev ${r.hops[0]!.dev.name} proto kernel scope link src ${fmtIp(r.src)}`);
      } else if (r.hops.length === 1) {
        const h = r.hops[0]!;
        lines.push(h.gw ? `${dst} via ${fmtIp(h.gw)} dev ${h.dev.name}` : `${dst} dev ${h.dev.name} scope link`);
      } else {
        lines.push(`${dst}`);
        for (const h of r.hops) lines.push(`\tnexthop via ${fmtIp(h.gw)} dev ${h.dev.name} weight 1`);
      }
    }
    return lines.join("\n") + (lines.length ? "\n" : "");
  }
}
