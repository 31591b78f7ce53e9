// Behaviour 12 — namespaces scope names, not packets: team-a resolves and connects to team-b's
// Service by its qualified name; the short name follows the asking pod's own namespace.

import { beforeAll, describe, expect, it } from "vitest";
import { runSpec, type SpecRun } from "./helpers.js";

const SPEC = `
cluster {
  namespace team-a
  namespace team-b
  node node1 192.168.1.11
  node node2 192.168.1.12
  pod a-app on node1 namespace team-a ip 10.244.1.10 labels app=a
  pod b-db on node2 namespace team-b ip 10.244.2.10 labels app=db listen tcp/5432
  pod a-db on node1 namespace team-a ip 10.244.1.11 labels app=db listen tcp/5432
}

service db {
  namespace team-b
  selector app=db
  port tcp 5432
  cluster-ip 10.96.0.90
}

service db {
  namespace team-a
  selector app=db
  port tcp 5432
  cluster-ip 10.96.0.91
}

scenario "cross" {
  resolve db.team-b from a-app
  resolve db from a-app
  send tcp from a-app to db.team-b.svc.cluster.local:5432
  send tcp from a-app to db.team-a:5432
}
`;

let run: SpecRun;
beforeAll(async () => {
  run = await runSpec(SPEC);
});

describe("namespaces", () => {
  it("db.team-b resolves to team-b's ClusterIP through the search path", () => {
    expect(run.probe("cross", 0).output).toBe("db.team-b.svc.cluster.local\n  A     10.96.0.90");
  });

  it("the short name is the asking pod's own namespace's Service", () => {
    expect(run.probe("cross", 1).output).toBe("db.team-a.svc.cluster.local\n  A     10.96.0.91");
  });

  it("connects across namespaces, each Service selecting only its own namespace's pods", () => {
    const [b] = run.branches("cross", 2);
    expect(b!.result).toBe("connected");
    expect(b!.deliveredTo?.host).toBe("pod:team-b/b-db");
    expect(b!.sourceSeen?.ip).toBe("10.244.1.10");
    expect(b!.explanation).toMatch(/^team-a\/a-app connected to team-b\/b-db \(10\.244\.2\.10:5432\)/);
    const [own] = run.branches("cross", 3);
    expect(own!.deliveredTo?.host).toBe("pod:team-a/a-db");
  });
});
