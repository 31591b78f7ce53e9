// DNS wire format (RFC 1035), just enough for the kernel engine: queries for A, CNAME and ANY,
// answers with A and CNAME records, NXDOMAIN, over UDP and TCP (2-byte length prefix). The
// lab's DNS server answers from a DnsZone; the lab's client parses the reply into the
// engine-neutral ProbeBranch["dns"] shape. No dependencies: the agent that runs this is a
// separate small process started in every namespace that needs sockets.

/** What a name resolves to: one or more IPv4 addresses, or an alias. */
export type DnsZoneRecord = { A: string[] } | { CNAME: string };

/**
 * The records a lab DNS server answers from. Keys are fully qualified names without the
 * trailing dot ("nginx.default.svc.cluster.local"), compared case-insensitively.
 */
export type DnsZone = Record<string, DnsZoneRecord>;

export type DnsQueryType = "A" | "CNAME" | "ANY";
export type DnsRcodeName = "NOERROR" | "NXDOMAIN" | "SERVFAIL";

export interface DnsAnswer {
  type: "A" | "CNAME";
  name: string;
  value: string;
}

export interface DnsMessage {
  id: number;
  response: boolean;
  rcode: number;
  questions: Array<{ name: string; type: number }>;
  answers: DnsAnswer[];
}

const TYPE_CODE: Record<DnsQueryType, number> = { A: 1, CNAME: 5, ANY: 255 };
const RCODE_NAME: Record<number, DnsRcodeName> = { 0: "NOERROR", 2: "SERVFAIL", 3: "NXDOMAIN" };
/** Answers are short-lived, as CoreDNS's kubernetes plugin gives them (ttl 5). */
const ANSWER_TTL = 5;
/** A CNAME chain longer than this is answered with what was found so far (loops end here). */
const MAX_CNAME_CHAIN = 8;

export function rcodeName(rcode: number): DnsRcodeName {
  return RCODE_NAME[rcode] ?? "SERVFAIL";
}

function normalizeName(name: string): string {
  return name.replace(/\.$/, "").toLowerCase();
}

function encodeName(name: string): Buffer {
  const labels = normalizeName(name).split(".").filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, "ascii");
    if (bytes.length > 63) throw new Error(`DNS label longer than 63 bytes: ${label}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** Reads a possibly compressed name at `offset`; returns the name and the offset after it. */
function decodeName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let jumps = 0; jumps < 64; jumps++) {
    if (pos >= buf.length) throw new Error("DNS name runs past the end of the message");
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      return { name: labels.join("."), next };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new Error("DNS compression pointer runs past the end");
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    labels.push(buf.subarray(pos + 1, pos + 1 + len).toString("ascii"));
    pos += 1 + len;
  }
  throw new Error("DNS name has too many compression jumps");
}

function header(id: number, flags: number, qd: number, an: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  h.writeUInt16BE(qd, 4);
  h.writeUInt16BE(an, 6);
  return h;
}

export function encodeQuery(id: number, name: string, type: DnsQueryType): Buffer {
  // Flags: standard query with RD (recursion desired), as stub resolvers send it.
  const typeAndClass = Buffer.alloc(4);
  typeAndClass.writeUInt16BE(TYPE_CODE[type], 0);
  typeAndClass.writeUInt16BE(1, 2); // class IN
  const question = Buffer.concat([encodeName(name), typeAndClass]);
  return Buffer.concat([header(id, 0x0100, 1, 0), question]);
}

function ipv4Bytes(ip: string): Buffer {
  const parts = ip.split(".").map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address in a DNS zone: ${ip}`);
  }
  return Buffer.from(parts);
}

function encodeRecord(a: DnsAnswer): Buffer {
  const rdata = a.type === "A" ? ipv4Bytes(a.value) : encodeName(a.value);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(a.type === "A" ? 1 : 5, 0);
  fixed.writeUInt16BE(1, 2); // class IN
  fixed.writeUInt32BE(ANSWER_TTL, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(a.name), fixed, rdata]);
}

export function decodeMessage(buf: Buffer): DnsMessage {
  if (buf.length < 12) throw new Error("DNS message shorter than its header");
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  let pos = 12;
  const questions: DnsMessage["questions"] = [];
  for (let i = 0; i < qd; i++) {
    const { name, next } = decodeName(buf, pos);
    questions.push({ name, type: buf.readUInt16BE(next) });
    pos = next + 4;
  }
  const answers: DnsAnswer[] = [];
  for (let i = 0; i < an; i++) {
    const { name, next } = decodeName(buf, pos);
    const type = buf.readUInt16BE(next);
    const rdlength = buf.readUInt16BE(next + 8);
    const rdata = next + 10;
    if (type === 1 && rdlength === 4) {
      answers.push({ type: "A", name, value: [...buf.subarray(rdata, rdata + 4)].join(".") });
    } else if (type === 5) {
      answers.push({ type: "CNAME", name, value: decodeName(buf, rdata).name });
    }
    pos = rdata + rdlength;
  }
  return { id, response: (flags & 0x8000) !== 0, rcode: flags & 0x0f, questions, answers };
}

function lookup(zone: DnsZone, name: string): DnsZoneRecord | undefined {
  const wanted = normalizeName(name);
  for (const [key, rec] of Object.entries(zone)) {
    if (normalizeName(key) === wanted) return rec;
  }
  return undefined;
}

/** The answer section for a question, or null for NXDOMAIN. */
export function answerFromZone(zone: DnsZone, name: string, type: number): DnsAnswer[] | null {
  let rec = lookup(zone, name);
  if (rec === undefined) return null;
  const answers: DnsAnswer[] = [];
  let owner = normalizeName(name);
  for (let depth = 0; depth < MAX_CNAME_CHAIN && rec !== undefined; depth++) {
    if ("CNAME" in rec) {
      answers.push({ type: "CNAME", name: owner, value: normalizeName(rec.CNAME) });
      // A CNAME question is answered by the alias itself; A and ANY follow it inside the zone
      // (a target outside the zone stays unresolved, as an ExternalName target does).
      if (type === TYPE_CODE.CNAME) break;
      owner = normalizeName(rec.CNAME);
      rec = lookup(zone, owner);
      continue;
    }
    if (type === TYPE_CODE.A || type === TYPE_CODE.ANY) {
      for (const ip of rec.A) answers.push({ type: "A", name: owner, value: ip });
    }
    break;
  }
  return answers;
}

/** The server's reply to a query message (authoritative, recursion available). */
export function buildResponse(query: Buffer, zone: DnsZone): Buffer {
  const q = decodeMessage(query);
  const question = q.questions[0];
  const rd = query.readUInt16BE(2) & 0x0100;
  if (question === undefined) {
    return header(q.id, 0x8000 | 0x0400 | 0x0080 | rd | 1, 0, 0); // FORMERR
  }
  const answers = answerFromZone(zone, question.name, question.type);
  const rcode = answers === null ? 3 : 0;
  const flags = 0x8000 | 0x0400 | 0x0080 | rd | rcode;
  const questionBytes = Buffer.concat([encodeName(question.name), Buffer.alloc(4)]);
  questionBytes.writeUInt16BE(question.type, questionBytes.length - 4);
  questionBytes.writeUInt16BE(1, questionBytes.length - 2);
  const records = (answers ?? []).map(encodeRecord);
  return Buffer.concat([header(q.id, flags, 1, records.length), questionBytes, ...records]);
}

/** Frames a message for DNS over TCP. */
export function tcpFrame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}
