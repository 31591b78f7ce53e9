// The typed syntax tree of a .svcspec file: what the parser produces and src/world consumes.
//
// The tree is purely syntactic: names are not resolved (a target `web` may be a node, a pod, a
// client or a Service), defaults are not applied (a port without protocol has `protocol: null`),
// and nothing is checked against anything else. What IS checked here is what the text alone
// decides: IPv4/CIDR literals are well-formed (ip-num's rules), port numbers are 1-65535, a keyword is
// one of its allowed values. Every node carries `pos`; every name carries its own `pos` so the
// world can put a caret under exactly the misspelt name.
//
// When the file has syntax errors the tree holds the statements that parsed completely; a
// statement with an error is left out (its diagnostic says why), so consumers never meet
// half-built nodes.

import type { Position } from "./diagnostic.js";
export type { Position };

// ---------------------------------------------------------------------------------------------
// Leaves

/** An identifier as written: a node/pod/client/Service/namespace/port name, a label key, ... */
export interface Name {
  text: string;
  pos: Position;
}

export interface StringLit {
  /** The value with escapes (\" and \\) resolved. */
  value: string;
  pos: Position;
}

export interface NumberLit {
  value: number;
  pos: Position;
}

/** A validated IPv4 address. */
export interface IpLit {
  /** Canonical dotted form (leading zeros removed). */
  text: string;
  /** The address as an unsigned 32-bit integer. */
  value: number;
  pos: Position;
}

/** A validated IPv4 CIDR. `base` is the address as written: host bits are NOT cleared here. */
export interface CidrLit {
  /** Canonical "a.b.c.d/n" as written (host bits kept). */
  text: string;
  base: number;
  prefix: number;
  pos: Position;
}

/** `on` / `off`. */
export interface SwitchLit {
  value: boolean;
  pos: Position;
}

/** One of a fixed set of words (`Cluster`/`Local`, `nat`/`filter`, ...), as a typed literal. */
export interface WordLit<T extends string> {
  value: T;
  pos: Position;
}

export type Protocol = "TCP" | "UDP";

/** `k=v` in `labels` / `selector`. The key may carry a prefix (`app.kubernetes.io/name`). */
export interface Label {
  key: Name;
  /** The value; `text` is "" for `k=` (an empty label value, which Kubernetes allows). */
  value: Name;
  pos: Position;
}

/** `tcp/80`, `udp/53`, `http=tcp/8080` in a `listen` list. */
export interface ListenItem {
  /** The container port name (`http` in `http=tcp/8080`). */
  name: Name | null;
  protocol: WordLit<Protocol>;
  port: NumberLit;
  pos: Position;
}

/** A host named or given by address: `reply-from`, `source-seen`. */
export type HostRef = { kind: "name"; name: Name; pos: Position } | { kind: "ip"; ip: IpLit; pos: Position };

/**
 * Where a probe goes. A plain name (no dot) may be a node, pod, client or Service; a dotted name
 * is a DNS name resolved by kube-dns from the sender; `lb:SERVICE` is the Service's load
 * balancer address. Resolving them is the world's job.
 */
export type Target =
  | { kind: "name"; name: Name; pos: Position }
  | { kind: "ip"; ip: IpLit; pos: Position }
  | { kind: "dns"; name: Name; pos: Position }
  | { kind: "lb"; service: Name; pos: Position };

/** A heredoc: `<<TAG` ... a line holding only `TAG`. */
export interface Heredoc {
  tag: Name;
  /** The body exactly as written, lines joined with "\n", no trailing newline after the last line. */
  body: string;
  /** The body with the indentation common to all its non-blank lines removed (line count unchanged). */
  dedented: string;
  /** The 1-based line of the body's first line in the .svcspec file (maps YAML errors back). */
  bodyLine: number;
  pos: Position;
}

// ---------------------------------------------------------------------------------------------
// The file

export interface SpecFile {
  file: string;
  /** The `spec "TITLE"` statement, if any. */
  title: StringLit | null;
  items: TopItem[];
  pos: Position;
}

export type TopItem = SpecTitle | ClusterBlock | ServiceBlock | ApplyStmt | ScenarioBlock;

export interface SpecTitle {
  kind: "spec";
  title: StringLit;
  pos: Position;
}

// ---------------------------------------------------------------------------------------------
// cluster { ... }

export interface ClusterBlock {
  kind: "cluster";
  name: Name | null;
  statements: ClusterStmt[];
  pos: Position;
}

export type ClusterStmt =
  | ClusterSetting
  | NodeStmt
  | PodStmt
  | DeploymentStmt
  | ClientStmt
  | RouteStmt
  | NamespaceStmt;

interface SettingOf<K extends string, V> {
  kind: "setting";
  key: K;
  keyPos: Position;
  value: V;
  pos: Position;
}

export type ClusterSetting =
  | SettingOf<"pod-cidr", CidrLit>
  | SettingOf<"service-cidr", CidrLit>
  | SettingOf<"node-port-range", { base: NumberLit; max: NumberLit; pos: Position }>
  | SettingOf<"proxy-mode", WordLit<"iptables">>
  | SettingOf<"masquerade-all", SwitchLit>
  | SettingOf<"masquerade", SwitchLit>
  | SettingOf<"hairpin-mode", WordLit<"hairpin-veth" | "promiscuous-bridge" | "none">>
  | SettingOf<"br-netfilter", SwitchLit>
  | SettingOf<"cloud-provider", SwitchLit>
  | SettingOf<"lb-pool", CidrLit>
  | SettingOf<"cluster-domain", Name>
  | SettingOf<"localhost-nodeports", SwitchLit>
  | SettingOf<"nodeport-addresses", CidrLit[]>
  | SettingOf<"node-network", CidrLit>
  | SettingOf<"router", IpLit>
  | SettingOf<"kube-dns", SwitchLit>;

export type ClusterSettingKey = ClusterSetting["key"];

/** `node NAME IP [pod-cidr CIDR]` */
export interface NodeStmt {
  kind: "node";
  name: Name;
  ip: IpLit;
  podCidr: CidrLit | null;
  pos: Position;
}

/** `pod NAME on NODE [ip IP] [labels k=v,...] [listen ...] [not-ready] [namespace NS]` (options in any order) */
export interface PodStmt {
  kind: "pod";
  name: Name;
  node: Name;
  ip: IpLit | null;
  labels: Label[];
  listen: ListenItem[];
  /** false when `not-ready` is written. */
  ready: boolean;
  namespace: Name | null;
  pos: Position;
}

/** `deployment NAME replicas N [on NODE,...] [labels ...] [listen ...] [namespace NS]` */
export interface DeploymentStmt {
  kind: "deployment";
  name: Name;
  replicas: NumberLit;
  /** The nodes to spread over; empty = all nodes. */
  nodes: Name[];
  labels: Label[];
  listen: ListenItem[];
  namespace: Name | null;
  pos: Position;
}

/** `client NAME IP` — a host outside the cluster. */
export interface ClientStmt {
  kind: "client";
  name: Name;
  ip: IpLit;
  pos: Position;
}

/** `route CIDR via NODE[,NODE...]` — a route on the outside router (ECMP when several). */
export interface RouteStmt {
  kind: "route";
  cidr: CidrLit;
  via: Name[];
  pos: Position;
}

/** `namespace NAME` */
export interface NamespaceStmt {
  kind: "namespace";
  name: Name;
  pos: Position;
}

// ---------------------------------------------------------------------------------------------
// service NAME [TYPE] { ... }

export type ServiceTypeName = "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName";

export interface ServiceBlock {
  kind: "service";
  name: Name;
  type: WordLit<ServiceTypeName> | null;
  fields: ServiceField[];
  pos: Position;
}

/** `port [NAME] [tcp|udp] PORT [-> TARGET] [node-port N]` */
export interface PortSpec {
  name: Name | null;
  /** null when not written (Kubernetes defaults to TCP). */
  protocol: WordLit<Protocol> | null;
  port: NumberLit;
  /** A number or a container-port name; null when not written (defaults to `port`). */
  target: { kind: "number"; port: NumberLit; pos: Position } | { kind: "name"; name: Name; pos: Position } | null;
  nodePort: NumberLit | null;
  pos: Position;
}

interface FieldOf<K extends string, V> {
  kind: "field";
  key: K;
  keyPos: Position;
  value: V;
  pos: Position;
}

/** A line in a service block; also the FIELD VALUE of `set service S FIELD VALUE`. */
export type ServiceField =
  | FieldOf<"namespace", Name>
  | FieldOf<"selector", Label[]>
  | FieldOf<"port", PortSpec>
  | FieldOf<"cluster-ip", IpLit | WordLit<"None">>
  | FieldOf<"external-traffic-policy", WordLit<"Cluster" | "Local">>
  | FieldOf<"internal-traffic-policy", WordLit<"Cluster" | "Local">>
  | FieldOf<"external-ips", IpLit[]>
  | FieldOf<"external-name", Name>
  | FieldOf<"load-balancer-ip", IpLit>
  | FieldOf<"load-balancer-source-ranges", CidrLit[]>
  | FieldOf<"health-check-node-port", NumberLit>
  | FieldOf<"session-affinity", { mode: WordLit<"None" | "ClientIP">; timeout: NumberLit | null; pos: Position }>
  | FieldOf<"publish-not-ready-addresses", SwitchLit>
  | FieldOf<"type", WordLit<ServiceTypeName>>;

export type ServiceFieldKey = ServiceField["key"];

// ---------------------------------------------------------------------------------------------
// apply

export interface ApplyStmt {
  kind: "apply";
  source: { kind: "file"; path: StringLit } | { kind: "inline"; heredoc: Heredoc };
  pos: Position;
}

// ---------------------------------------------------------------------------------------------
// scenario "TITLE" [tags a,b] { ... }

export interface ScenarioBlock {
  kind: "scenario";
  title: StringLit;
  tags: Name[];
  statements: ScenarioStmt[];
  pos: Position;
}

export type ScenarioStmt = Probe | Change;

export type Probe = PacketProbe | DnsProbe | ShowProbe;

/** `send|trace tcp|udp from HOST to TARGET:PORT [expect ...]` */
export interface PacketProbe {
  kind: "send" | "trace";
  protocol: WordLit<Protocol>;
  from: Name;
  to: Target;
  port: NumberLit;
  expects: Expectation<PacketCheck>[];
  pos: Position;
}

/** `resolve|nslookup NAME from POD [expect ...]` */
export interface DnsProbe {
  kind: "resolve" | "nslookup";
  query: Name;
  from: Name;
  expects: Expectation<DnsCheck>[];
  pos: Position;
}

export type ShowSubject =
  | { subject: "iptables"; node: Name; table: WordLit<"nat" | "filter"> | null; chain: Name | null }
  | { subject: "endpoints"; service: Name }
  | { subject: "services" }
  | { subject: "routes"; node: Name }
  | { subject: "conntrack"; node: Name }
  | { subject: "hairpin"; node: Name }
  | { subject: "bridge"; node: Name }
  | { subject: "pods" };

/** `show ...` — prints a view of the simulated cluster; expectations check its text. */
export interface ShowProbe {
  kind: "show";
  what: ShowSubject;
  expects: Expectation<ShowCheck>[];
  pos: Position;
}

export type Quantifier = "always" | "sometimes" | "never";

/** One check after `expect`, with its quantifier over the probe's load-balancing branches. */
export interface Expectation<C extends Check = Check> {
  /** `always` unless written otherwise. */
  quantifier: Quantifier;
  /** Where `always|sometimes|never` was written; null when implied. */
  quantifierPos: Position | null;
  check: C;
  pos: Position;
}

export type PacketCheck =
  | { kind: "connected" | "dropped" | "rejected" | "refused" | "unreachable" | "masqueraded"; pos: Position }
  | { kind: "reply-from"; host: HostRef; port: NumberLit | null; pos: Position }
  | { kind: "delivered-to"; pods: Name[]; anyOf: boolean; pos: Position }
  | { kind: "source-seen"; host: HostRef; pos: Position }
  | { kind: "via"; node: Name; pos: Position };

export type DnsCheck =
  | { kind: "answer"; ips: IpLit[]; pos: Position }
  | { kind: "cname"; host: Name; pos: Position }
  | { kind: "nxdomain" | "fails"; pos: Position };

export type ShowCheck =
  | { kind: "contains"; text: StringLit; pos: Position }
  | { kind: "lines"; count: NumberLit; pos: Position }
  | { kind: "text"; heredoc: Heredoc; pos: Position };

export type Check = PacketCheck | DnsCheck | ShowCheck;

// Changes: they last to the end of the scenario.

export type Change =
  | { kind: "set-pod"; pod: Name; ready: WordLit<"ready" | "not-ready">; pos: Position }
  | { kind: "delete-pod"; pod: Name; pos: Position }
  | { kind: "delete-service"; service: Name; pos: Position }
  | { kind: "set-service"; service: Name; field: ServiceField; pos: Position }
  | ApplyStmt
  | { kind: "stop-kube-proxy"; node: Name; pos: Position }
  | { kind: "stop-kube-dns"; pos: Position }
  | { kind: "fail-node"; node: Name; pos: Position };
