// Kubernetes manifests: multi-document YAML from a file or a heredoc, decoded into the API shapes
// of k8s.ts with positions kept for every field, so that later validation can point at the
// `nodePort: 8080` line itself. Nothing is dropped silently: kinds svcspec does not simulate and
// fields that matter to networking but are not modelled get a warning.
//
// Parsing uses YAML 1.1 rules, as kubectl does (sigs.k8s.io/yaml on go-yaml v2): `yes`/`on` are
// booleans there too, so `enabled: yes` as a label value is the same error it is for kubectl.

import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments } from "yaml";
import type { Document, Node as YamlNode } from "yaml";
import type { Diagnostic, Position } from "../lang/diagnostic.js";
import type { Deployment, EndpointSlice, Endpoints, Namespace, Pod, Service } from "./k8s.js";
import { MAX_MANIFEST_BYTES, MAX_YAML_ALIAS_COUNT } from "./defaults.js";
import { diagAt, fieldPathText, type FieldPath, type Locator } from "./located.js";

/** Where a manifest text came from. */
export type ManifestOrigin =
  | { kind: "file"; /** Path as shown in diagnostics (relative to the working dir). */ file: string }
  | {
      kind: "heredoc";
      /** The .svcspec file. */
      file: string;
      /** .svcspec line of the body's first line. */
      line: number;
      /** .svcspec column of the body's first column (1 unless the parser strips indentation). */
      column?: number;
    };

export type ManifestObject =
  | { kind: "Service"; object: Service; loc: Locator; pos: Position }
  | { kind: "Pod"; object: Pod; loc: Locator; pos: Position }
  | { kind: "Deployment"; object: Deployment; loc: Locator; pos: Position }
  | { kind: "Endpoints"; object: Endpoints; loc: Locator; pos: Position }
  | { kind: "EndpointSlice"; object: EndpointSlice; loc: Locator; pos: Position }
  | { kind: "Namespace"; object: Namespace; loc: Locator; pos: Position };

export interface ManifestLoad {
  objects: ManifestObject[];
  diagnostics: Diagnostic[];
}

const API_VERSIONS: Record<ManifestObject["kind"], string> = {
  Service: "v1",
  Pod: "v1",
  Endpoints: "v1",
  Namespace: "v1",
  Deployment: "apps/v1",
  EndpointSlice: "discovery.k8s.io/v1",
};

// ---------------------------------------------------------------------------------------------
// Positions

class TextMap {
  readonly lines: string[];
  constructor(
    readonly text: string,
    readonly origin: ManifestOrigin,
    readonly counter: LineCounter,
  ) {
    this.lines = text.split(/\r?\n/);
  }

  private shift(line: number, col: number): { line: number; column: number } {
    if (this.origin.kind === "file") return { line, column: col };
    return { line: this.origin.line + line - 1, column: (this.origin.column ?? 1) + col - 1 };
  }

  /** Position of the text between two offsets (end exclusive). */
  span(start: number, end: number): Position {
    const a = this.counter.linePos(start);
    const b = this.counter.linePos(Math.max(start, end - 1));
    const s = this.shift(a.line, a.col);
    const e = this.shift(b.line, b.col);
    return { file: this.origin.file, line: s.line, column: s.column, endLine: e.line, endColumn: e.column };
  }

  sourceLine(pos: Position): string | undefined {
    const yamlLine = this.origin.kind === "file" ? pos.line : pos.line - this.origin.line + 1;
    const text = this.lines[yamlLine - 1];
    if (text === undefined) return undefined;
    const indent = this.origin.kind === "heredoc" ? (this.origin.column ?? 1) - 1 : 0;
    return " ".repeat(indent) + text;
  }
}

function nodeRange(node: unknown): [number, number] | null {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? [r[0], r[1]] : null;
}

/** A Locator over one YAML node (a document's contents or a List item). */
function yamlLocator(map: TextMap, root: YamlNode | null | undefined, fallback: Position): Locator {
  return {
    at(path: FieldPath): Position {
      let node: unknown = root;
      let best: [number, number] | null = nodeRange(root);
      for (const seg of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
          if (!pair) break;
          const k = nodeRange(pair.key);
          const v = nodeRange(pair.value);
          if (k) best = [k[0], v ? v[1] : k[1]];
          node = pair.value;
        } else if (isSeq(node) && typeof seg === "number") {
          const item = node.items[seg];
          if (!item) break;
          best = nodeRange(item) ?? best;
          node = item;
        } else break;
      }
      if (!best) return fallback;
      // A pair whose value is a block collection spans many lines: point at its key line only.
      const pos = map.span(best[0], best[1]);
      if (pos.endLine !== pos.line) {
        const line = map.sourceLine(pos) ?? "";
        return { ...pos, endLine: pos.line, endColumn: Math.max(pos.column, line.trimEnd().length) };
      }
      return pos;
    },
    sourceLine: (pos) => map.sourceLine(pos),
  };
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Reads and parses a manifest file; `display` is the path shown in diagnostics. */
export function loadManifestFile(
  display: string,
  readFile: (path: string) => string,
  resolvedPath: string,
  referencedAt: Position,
): ManifestLoad {
  let text: string;
  try {
    text = readFile(resolvedPath);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException)?.code === "ENOENT" ? "no such file" : (err as Error)?.message ?? String(err);
    return {
      objects: [],
      diagnostics: [
        {
          severity: "error",
          code: "manifest-file",
          message: `cannot read manifest file \`${display}\`: ${why}`,
          pos: referencedAt,
          notes: ["manifest paths are relative to the .svcspec file"],
        },
      ],
    };
  }
  return parseManifests(text, { kind: "file", file: display });
}

/** Parses multi-document YAML text into Kubernetes objects. Never throws. */
export function parseManifests(text: string, origin: ManifestOrigin): ManifestLoad {
  const diagnostics: Diagnostic[] = [];
  const objects: ManifestObject[] = [];
  const counter = new LineCounter();
  const map = new TextMap(text, origin, counter);
  const startPos: Position = map.span(0, 0);
  if (origin.kind === "file") Object.assign(startPos, { line: 1, column: 1, endLine: 1, endColumn: 1 });

  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_MANIFEST_BYTES) {
    diagnostics.push({
      severity: "error",
      code: "yaml",
      message: `manifest is ${(bytes / 1024 / 1024).toFixed(1)} MiB; the limit is ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB per file or heredoc`,
      pos: startPos,
      notes: ["split it into several files, or keep only the objects that matter to the Services under test"],
    });
    return { objects, diagnostics };
  }

  let docs: Document.Parsed[];
  try {
    const parsed = parseAllDocuments(text, { lineCounter: counter, version: "1.1", prettyErrors: false, uniqueKeys: true });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (err) {
    diagnostics.push({ severity: "error", code: "yaml", message: `YAML could not be parsed: ${(err as Error).message}`, pos: startPos });
    return { objects, diagnostics };
  }

  for (const doc of docs) {
    const r = nodeRange(doc.contents);
    const docFallback = r ? firstLineOf(map.span(r[0], r[1]), map) : startPos;
    if (doc.errors.length > 0) {
      // The first error of a document; the rest are nearly always its consequences.
      for (const e of doc.errors.slice(0, 1)) {
        const pos = map.span(e.pos[0], e.pos[1]);
        const d: Diagnostic = { severity: "error", code: "yaml", message: `YAML syntax error: ${firstLine(e.message)}`, pos };
        const line = map.sourceLine(pos);
        if (line !== undefined) d.sourceLine = line;
        diagnostics.push(d);
      }
      continue;
    }
    for (const w of doc.warnings) {
      const pos = map.span(w.pos[0], w.pos[1]);
      diagnostics.push({ severity: "warning", code: "yaml", message: firstLine(w.message), pos });
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue; // empty document
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
    } catch (err) {
      const msg = (err as Error).message ?? String(err);
      const bomb = /alias/i.test(msg);
      diagnostics.push({
        severity: "error",
        code: "yaml",
        message: bomb
          ? `YAML aliases expand to too many nodes (more than ${MAX_YAML_ALIAS_COUNT} alias uses); refusing to expand it (an "alias bomb")`
          : `YAML could not be read: ${firstLine(msg)}`,
        pos: docFallback,
        sourceLine: map.sourceLine(docFallback),
      });
      continue;
    }
    const loc = yamlLocator(map, doc.contents as YamlNode, docFallback);
    decodeTop(value, loc, doc.contents as YamlNode, map, objects, diagnostics);
  }
  return { objects, diagnostics };
}

function firstLineOf(pos: Position, map: TextMap): Position {
  if (pos.endLine === pos.line) return pos;
  const line = map.sourceLine(pos) ?? "";
  return { ...pos, endLine: pos.line, endColumn: Math.max(pos.column, line.trimEnd().length) };
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.trim();
}

function decodeTop(
  value: unknown,
  loc: Locator,
  node: YamlNode,
  map: TextMap,
  objects: ManifestObject[],
  diagnostics: Diagnostic[],
): void {
  if (!isPlainObject(value)) {
    diagnostics.push(diagAt(loc, [], "error", "manifest", "a manifest document must be a mapping with apiVersion, kind and metadata"));
    return;
  }
  const kind = value.kind;
  if (kind === "List" || (typeof kind === "string" && kind.endsWith("List") && Array.isArray(value.items))) {
    const items = Array.isArray(value.items) ? value.items : [];
    const seqNode = isMap(node) ? node.get("items", true) : undefined;
    items.forEach((item: unknown, i: number) => {
      const itemNode = isSeq(seqNode) ? (seqNode.items[i] as YamlNode) : undefined;
      const itemLoc = itemNode ? yamlLocator(map, itemNode, loc.at(["items", i])) : prefixed(loc, ["items", i]);
      decodeTop(item, itemLoc, itemNode ?? node, map, objects, diagnostics);
    });
    return;
  }
  const missing: string[] = [];
  if (typeof value.apiVersion !== "string") missing.push("apiVersion not set");
  if (typeof kind !== "string") missing.push("kind not set");
  if (missing.length > 0) {
    diagnostics.push(diagAt(loc, [], "error", "manifest", `error validating data: ${missing.join(", ")}`));
    return;
  }
  const k = kind as string;
  if (!(k in API_VERSIONS)) {
    diagnostics.push(
      diagAt(loc, ["kind"], "warning", "unsupported-kind", `kind ${k} is not simulated; ignored`, {
        notes: ["svcspec simulates Service, Pod, Deployment, Endpoints, EndpointSlice and Namespace objects"],
      }),
    );
    return;
  }
  const known = k as ManifestObject["kind"];
  if (value.apiVersion !== API_VERSIONS[known]) {
    diagnostics.push(
      diagAt(loc, ["apiVersion"], "error", "manifest", `no matches for kind "${k}" in version "${String(value.apiVersion)}"`, {
        suggestion: `${k} is served as apiVersion ${API_VERSIONS[known]}`,
      }),
    );
    return;
  }
  const errorsBefore = diagnostics.filter((d) => d.severity === "error").length;
  const decoded = decode(value, TOP_SPECS[known], [], loc, diagnostics, k) as Record<string, unknown>;
  const meta = decoded.metadata as Record<string, unknown> | undefined;
  if (!meta || typeof meta.name !== "string" || meta.name === "") {
    diagnostics.push(diagAt(loc, meta ? ["metadata"] : [], "error", "manifest", `${k}: metadata.name: Required value: name is required`));
    return;
  }
  if (diagnostics.filter((d) => d.severity === "error").length > errorsBefore) return;
  const pos = loc.at(["metadata", "name"]);
  objects.push({ kind: known, object: decoded, loc, pos } as unknown as ManifestObject);
}

function prefixed(loc: Locator, prefix: FieldPath): Locator {
  return { at: (path) => loc.at([...prefix, ...path]), sourceLine: loc.sourceLine };
}

// ---------------------------------------------------------------------------------------------
// Shape decoding: types checked against the API, unknown fields warned about.

type Shape =
  | { t: "string" }
  | { t: "int" }
  | { t: "bool" }
  | { t: "intOrString" }
  | { t: "any" }
  | { t: "stringMap" }
  | { t: "list"; of: Shape }
  | {
      t: "object";
      fields: Record<string, Shape>;
      /** Valid API fields that do not affect Service networking: accepted, not kept. */
      ignored?: string[];
      /** Valid API fields that matter to networking but are not simulated: kept out, warned. */
      notSimulated?: Record<string, string>;
      /** Objects with many irrelevant API fields (PodSpec, Container): unknown fields pass. */
      open?: boolean;
    };

const S: Shape = { t: "string" };
const I: Shape = { t: "int" };
const B: Shape = { t: "bool" };
const ANY: Shape = { t: "any" };
const MAP: Shape = { t: "stringMap" };
const list = (of: Shape): Shape => ({ t: "list", of });

const META: Shape = {
  t: "object",
  fields: { name: S, namespace: S, labels: MAP, annotations: MAP, uid: S },
  ignored: [
    "generateName", "resourceVersion", "creationTimestamp", "ownerReferences", "finalizers", "managedFields",
    "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds",
  ],
};
const TYPE_META = { apiVersion: S, kind: S, metadata: META };

const SERVICE_PORT: Shape = {
  t: "object",
  fields: { name: S, protocol: S, port: I, targetPort: { t: "intOrString" }, nodePort: I, appProtocol: S },
};
const SERVICE: Shape = {
  t: "object",
  fields: {
    ...TYPE_META,
    spec: {
      t: "object",
      fields: {
        type: S, selector: MAP, ports: list(SERVICE_PORT), clusterIP: S, clusterIPs: list(S), ipFamilies: list(S),
        ipFamilyPolicy: S, externalIPs: list(S), externalName: S, externalTrafficPolicy: S, internalTrafficPolicy: S,
        healthCheckNodePort: I, loadBalancerIP: S, loadBalancerSourceRanges: list(S), allocateLoadBalancerNodePorts: B,
        sessionAffinity: S, publishNotReadyAddresses: B, trafficDistribution: S,
        sessionAffinityConfig: { t: "object", fields: { clientIP: { t: "object", fields: { timeoutSeconds: I } } } },
      },
      notSimulated: {
        loadBalancerClass: "loadBalancerClass is not simulated (the cloud-provider setting decides whether a load balancer is provisioned)",
        topologyKeys: "topologyKeys was removed in Kubernetes 1.22 and is ignored by kube-proxy",
      },
    },
    status: {
      t: "object",
      fields: {
        loadBalancer: {
          t: "object",
          fields: { ingress: list({ t: "object", fields: { ip: S, hostname: S, ipMode: S }, ignored: ["ports"] }) },
        },
      },
      ignored: ["conditions"],
    },
  },
};

const CONTAINER_PORT: Shape = {
  t: "object",
  fields: { name: S, containerPort: I, protocol: S },
  notSimulated: {
    hostPort: "hostPort (the CNI portmap plugin) is not simulated; the port is reachable on the pod IP only",
    hostIP: "hostIP (the CNI portmap plugin) is not simulated",
  },
};
const CONTAINER: Shape = { t: "object", fields: { name: S, image: S, ports: list(CONTAINER_PORT) }, open: true };
const POD_SPEC: Shape = {
  t: "object",
  fields: { nodeName: S, hostNetwork: B, containers: list(CONTAINER) },
  open: true,
  notSimulated: {
    initContainers: "initContainers are not simulated (the pod is taken as started)",
    hostAliases: "hostAliases are not simulated",
    dnsConfig: "dnsConfig is not simulated; the pod resolves with the cluster's default DNS settings",
  },
};
const POD: Shape = {
  t: "object",
  fields: {
    ...TYPE_META,
    spec: POD_SPEC,
    status: {
      t: "object",
      fields: { podIP: S, phase: S, conditions: list({ t: "object", fields: { type: S, status: S }, open: true }) },
      open: true,
    },
  },
};
const DEPLOYMENT: Shape = {
  t: "object",
  fields: {
    ...TYPE_META,
    spec: {
      t: "object",
      fields: {
        replicas: I,
        selector: { t: "object", fields: { matchLabels: MAP }, notSimulated: { matchExpressions: "selector.matchExpressions is not evaluated; matchLabels and the template labels decide" } },
        template: { t: "object", fields: { metadata: { t: "object", fields: { labels: MAP }, open: true }, spec: POD_SPEC } },
      },
      ignored: ["strategy", "minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds", "paused"],
    },
    status: ANY,
  },
};
const ENDPOINTS_ADDRESS: Shape = {
  t: "object",
  fields: { ip: S, nodeName: S, hostname: S, targetRef: { t: "object", fields: { kind: S, name: S }, open: true } },
};
const ENDPOINTS: Shape = {
  t: "object",
  fields: {
    ...TYPE_META,
    subsets: list({
      t: "object",
      fields: {
        addresses: list(ENDPOINTS_ADDRESS),
        notReadyAddresses: list(ENDPOINTS_ADDRESS),
        ports: list({ t: "object", fields: { name: S, port: I, protocol: S }, ignored: ["appProtocol"] }),
      },
    }),
  },
};
const ENDPOINT_SLICE: Shape = {
  t: "object",
  fields: {
    ...TYPE_META,
    addressType: S,
    endpoints: list({
      t: "object",
      fields: {
        addresses: list(S),
        conditions: { t: "object", fields: { ready: B, serving: B, terminating: B } },
        nodeName: S,
        hostname: S,
        zone: S,
        targetRef: { t: "object", fields: { kind: S, name: S, namespace: S }, open: true },
      },
      notSimulated: { hints: "topology hints are not simulated; every endpoint is eligible on every node" },
      ignored: ["deprecatedTopology"],
    }),
    ports: list({ t: "object", fields: { name: S, protocol: S, port: I, appProtocol: S } }),
  },
};
const NAMESPACE: Shape = { t: "object", fields: { ...TYPE_META }, ignored: ["spec", "status"] };

const TOP_SPECS: Record<ManifestObject["kind"], Shape> = {
  Service: SERVICE,
  Pod: POD,
  Deployment: DEPLOYMENT,
  Endpoints: ENDPOINTS,
  EndpointSlice: ENDPOINT_SLICE,
  Namespace: NAMESPACE,
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `string "${v}"`;
  return `${typeof v} ${String(v)}`;
}

function decode(v: unknown, shape: Shape, path: FieldPath, loc: Locator, out: Diagnostic[], kind: string): unknown {
  const where = path.length ? `${kind} ${fieldPathText(path)}` : kind;
  const bad = (expected: string, hint?: string): undefined => {
    const notes = hint ? [hint] : undefined;
    out.push(diagAt(loc, path, "error", "manifest", `${where}: expected ${expected}, got ${describe(v)}`, { notes }));
    return undefined;
  };
  if (v === null || v === undefined) return undefined; // `field:` with no value is the same as absent in the API
  switch (shape.t) {
    case "any":
      return v;
    case "string":
      if (typeof v === "string") return v;
      if (typeof v === "number" || typeof v === "boolean")
        return bad("a string", "quote the value: YAML 1.1, as kubectl reads it, takes bare numbers and yes/no/on/off/true/false as non-strings");
      return bad("a string");
    case "int":
      if (typeof v === "number" && Number.isInteger(v)) return v;
      return bad("an integer");
    case "bool":
      if (typeof v === "boolean") return v;
      return bad("true or false");
    case "intOrString":
      if ((typeof v === "number" && Number.isInteger(v)) || typeof v === "string") return v;
      return bad("a port number or a port name");
    case "stringMap": {
      if (!isPlainObject(v)) return bad("a mapping of strings");
      const res: Record<string, string> = {};
      for (const [k, val] of Object.entries(v)) {
        const s = decode(val, S, [...path, k], loc, out, kind);
        if (typeof s === "string") res[k] = s;
        else if (val === null) res[k] = "";
      }
      return res;
    }
    case "list": {
      if (!Array.isArray(v)) return bad("a list");
      return v.map((item, i) => decode(item, shape.of, [...path, i], loc, out, kind)).filter((x) => x !== undefined);
    }
    case "object": {
      if (!isPlainObject(v)) return bad("a mapping");
      const res: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v)) {
        const fieldShape = shape.fields[k];
        if (fieldShape) {
          const dec = decode(val, fieldShape, [...path, k], loc, out, kind);
          if (dec !== undefined) res[k] = dec;
        } else if (shape.notSimulated && k in shape.notSimulated) {
          out.push(diagAt(loc, [...path, k], "warning", "not-simulated", `${kind} ${fieldPathText([...path, k])}: ${shape.notSimulated[k]}; ignored`));
        } else if (shape.ignored?.includes(k) || shape.open) {
          // Valid API field with no effect on Service networking.
        } else {
          const known = Object.keys(shape.fields);
          const close = closest(k, known);
          out.push(
            diagAt(loc, [...path, k], "warning", "unknown-field", `${kind} ${fieldPathText([...path, k])}: unknown field "${k}"; ignored`, {
              suggestion: close ? `did you mean \`${close}\`?` : undefined,
              notes: ["kubectl apply (strict field validation) would reject this object"],
            }),
          );
        }
      }
      return res;
    }
  }
}

/** The closest known field name, for a likely typo (case or one or two edits). */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(1, Math.floor(word.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
