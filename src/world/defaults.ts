// Every default the world layer applies, in one place, with the reason for each value.
// The cluster settings here are what `cluster { }` gets when a line is absent; the allocation
// rules are what kube-apiserver / the CNI would do, made deterministic so that the same file
// always yields the same addresses (a test suite must not flake on an allocator's randomness).

import type { ClusterSettings } from "./model.js";

export const DEFAULT_SETTINGS: Readonly<ClusterSettings> = Object.freeze({
  name: "cluster",
  // kubeadm + flannel's usual pod network; kube-proxy --cluster-cidr.
  podCidr: "10.244.0.0/16",
  // kubeadm's default --service-cluster-ip-range.
  serviceCidr: "10.96.0.0/12",
  // kube-apiserver --service-node-port-range default (DefaultServiceNodePortRange).
  nodePortRange: Object.freeze({ base: 30000, max: 32767 }) as { base: number; max: number },
  proxyMode: "iptables",
  masqueradeAll: false,
  masquerade: true,
  // kubelet --hairpin-mode default.
  hairpinMode: "hairpin-veth",
  brNetfilter: true,
  // Without a cloud provider a LoadBalancer Service stays <pending>, as on a bare kubeadm cluster.
  cloudProvider: false,
  // Load balancer VIPs (when cloud-provider is on) come from the top of TEST-NET-2
  // (RFC 5737). Not 203.0.113.0/24: outside clients live there in the examples, and a VIP
  // inside the clients' own subnet would be "on-link" for them instead of routed.
  // Not the low end of 198.51.100.0/24 either: the examples use 198.51.100.10 as an externalIP.
  lbPool: "198.51.100.240/28",
  clusterDomain: "cluster.local",
  // kube-proxy --iptables-localhost-nodeports default (true).
  localhostNodePorts: true,
  nodePortAddresses: [] as string[],
  nodeNetwork: "192.168.1.0/24",
  routerIp: "192.168.1.1",
  kubeDns: true,
}) as Readonly<ClusterSettings>;

/** A fresh, mutable copy of the default settings. */
export function defaultSettings(): ClusterSettings {
  return {
    ...DEFAULT_SETTINGS,
    nodePortRange: { ...DEFAULT_SETTINGS.nodePortRange },
    nodePortAddresses: [...DEFAULT_SETTINGS.nodePortAddresses],
  };
}

/** Namespaces every cluster has (kube-node-lease is left out: nothing networked lives there). */
export const BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public"] as const;

/** Service session affinity timeout defaulted by the apiserver (DefaultClientIPServiceAffinitySeconds). */
export const DEFAULT_AFFINITY_TIMEOUT = 10800;
/** Upper bound kube-apiserver accepts for sessionAffinityConfig.clientIP.timeoutSeconds. */
export const MAX_AFFINITY_TIMEOUT = 86400;

/**
 * ClusterIP allocation. The apiserver reserves the network address and (for the range's
 * broadcast) the last address; kubeadm's `kubernetes` Service takes the first address and
 * kube-dns the tenth. Those two offsets are never handed out dynamically.
 * Dynamic ClusterIPs: sequential from offset 100 of the service CIDR (10.96.0.100, .101, ...),
 * in declaration order, skipping anything pinned by the user; after the end of the range the
 * search wraps to offset 2. The real apiserver picks at random (upper band first); a sequential
 * walk keeps the same file → same addresses.
 */
export const CLUSTER_IP_OFFSETS = { kubernetes: 1, kubeDns: 10, firstDynamic: 100 } as const;

/**
 * NodePort allocation: like the apiserver's allocator, the upper band [base+offset, max] is used
 * first and the lower band (kept for static choices) only when the upper one is full.
 * offset = min(max(16, size/32), 128), 0 when size ≤ 16 (calculateRangeOffset). Within a band
 * ports go up sequentially instead of at random: the default range yields 30086, 30087, ...
 */
export function nodePortRangeOffset(size: number): number {
  if (size <= 16) return 0;
  return Math.min(Math.max(16, Math.floor(size / 32)), 128);
}

/**
 * Node pod ranges: node i (0-based, declaration order) gets the (i+1)-th /24 of the cluster
 * pod CIDR unless it gives its own (node1 → 10.244.1.0/24, node2 → 10.244.2.0/24, as flannel
 * hands them out after the first). The first address is the cni0 bridge; pod IPs start at
 * the second one (.2) in declaration order, user pods before system (CoreDNS) pods, skipping
 * addresses pinned by the user.
 */
export const NODE_POD_PREFIX = 24;
export const FIRST_POD_HOST_OFFSET = 2;

/**
 * Pods without a node (Deployment replicas, Pod manifests without spec.nodeName) are placed
 * round-robin over the nodes in declaration order: replica k (1-based) of a Deployment goes to
 * node (k-1) mod N and is named `<deployment>-<k>`; unscheduled bare Pods share one
 * round-robin counter of their own in declaration order.
 */
export const DEPLOYMENT_POD_NAME = (deployment: string, k: number): string => `${deployment}-${k}`;

/** CoreDNS as kubeadm deploys it: 2 replicas spread over the first nodes. */
export const COREDNS = {
  deployment: "coredns",
  replicas: 2,
  labels: { "k8s-app": "kube-dns" },
  listen: [
    { protocol: "UDP" as const, port: 53, name: "dns" },
    { protocol: "TCP" as const, port: 53, name: "dns-tcp" },
    { protocol: "TCP" as const, port: 9153, name: "metrics" },
  ],
};

/** The apiserver's secure port, target of the `kubernetes` Service (https 443 → 6443). */
export const APISERVER_PORT = 6443;

/** Size cap for one manifest file or heredoc: a clear error instead of a slow parse. */
export const MAX_MANIFEST_BYTES = 5 * 1024 * 1024;
/** yaml's alias expansion cap: a "billion laughs" document fails fast with a message. */
export const MAX_YAML_ALIAS_COUNT = 100;
