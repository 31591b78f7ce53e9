// Child process for the interrupted-run test: builds a lab, prints its prefix, namespaces and
// agent pids as one JSON line, then waits to be interrupted (SIGINT/SIGTERM) or killed.
import { KernelLab } from "../../src/lab/kernel-lab.js";
import { handTopology } from "./hand-topology.js";

const lab = await KernelLab.create(handTopology());
// A client agent too, so the test sees agents beyond the servers.
await lab.probe({ protocol: "tcp", from: "client", dst: "192.168.1.11", dport: 30080 });
process.stdout.write(JSON.stringify({ prefix: lab.prefix, namespaces: lab.namespaces(), pids: lab.agentPids() }) + "\n");
setInterval(() => undefined, 1000);
