// What is running in the cluster at a moment of a scenario, beyond the declared objects:
// failed nodes, kube-proxies that were stopped (their rules stay frozen as they were), and
// whether kube-dns runs. Scenario changes (`fail node`, `stop kube-proxy`, `stop kube-dns`)
// edit this; the control-plane reactions (EndpointSlices, kube-proxy syncs, the cloud load
// balancer's health checks) read it.

export interface ClusterRuntime {
  failedNodes: Set<string>;
  /** Node name → the iptables-save text its kube-proxy last wrote before it was stopped. */
  stoppedProxies: Map<string, string>;
  kubeDnsStopped: boolean;
}

export const freshRuntime = (): ClusterRuntime => ({
  failedNodes: new Set(),
  stoppedProxies: new Map(),
  kubeDnsStopped: false,
});

export const cloneRuntime = (r: ClusterRuntime): ClusterRuntime => ({
  failedNodes: new Set(r.failedNodes),
  stoppedProxies: new Map(r.stoppedProxies),
  kubeDnsStopped: r.kubeDnsStopped,
});
