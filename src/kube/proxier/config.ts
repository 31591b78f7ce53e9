// What one node's kube-proxy (iptables mode) was started with. Field names follow the brief's
// contract; each is a kube-proxy flag or a fact kube-proxy discovers at start-up.

export interface ProxierConfig {
  /** --hostname-override / the Node name: decides which endpoints are local. */
  nodeName: string;
  /** The node's addresses; the first is kube-proxy's primary nodeIP (and picks the IP family). */
  nodeIPs: string[];
  /** --cluster-cidr (detectLocalMode ClusterCIDR); null = no local traffic detector. */
  clusterCIDR: string | null;
  /** --masquerade-all */
  masqueradeAll: boolean;
  /** The mark string as kube-proxy writes it, e.g. "0x4000". */
  masqueradeMark: string;
  /** --nodeport-addresses (CIDRs); empty = every local address. */
  nodePortAddresses: string[];
  /** --iptables-localhost-nodeports (default true). */
  localhostNodePorts: boolean;
  /** Whether the nfacct counters could be ensured (nfnetlink_acct present). */
  nfacct: boolean;
  /** Whether the iptables binary supports MASQUERADE --random-fully. */
  randomFully: boolean;
  /** net.netfilter.nf_conntrack_tcp_be_liberal != 0: kube-proxy then skips the INVALID drop rule. */
  conntrackTCPLiberal?: boolean;
  /** svcspec teaching switch: false omits the MASQUERADE rule in KUBE-POSTROUTING; default true. */
  masquerade?: boolean;
}

/** The node's addresses kube-proxy sees on its interfaces: loopback first, then the node IPs. */
export function interfaceAddresses(cfg: ProxierConfig, family: 4 | 6): string[] {
  return [family === 4 ? "127.0.0.1" : "::1", ...cfg.nodeIPs];
}
