// kube-proxy's configuration in upstream's tests (NewFakeProxier), the base every rule-writer test
// varies: test-node at 192.168.0.2 (and two more addresses), pod CIDR 10.0.0.0/8, mark 0x4000,
// localhost NodePorts, nfacct counters, no --random-fully.
import type { ProxierConfig } from "../../src/kube/proxier/index.js";

export const FAKE_PROXIER: ProxierConfig = {
  nodeName: "test-node",
  nodeIPs: ["192.168.0.2", "192.168.1.2", "192.168.99.11"],
  clusterCIDR: "10.0.0.0/8",
  masqueradeAll: false,
  masqueradeMark: "0x4000",
  nodePortAddresses: [],
  localhostNodePorts: true,
  nfacct: true,
  randomFully: false,
};
