// The lab agent: one small process per network namespace that needs sockets. Node cannot
// setns(2), so the kernel engine starts `ip netns exec NS node agent.js HOST` and talks to it
// in JSON lines over stdin/stdout. It runs the servers a pod listens with (an echo server that
// reports the source it saw, a DNS server) and makes the client side of probes with bounded
// timeouts. It exits when its stdin closes, so a crashed parent never leaves it behind.
//
// Requests:  {"id":1,"cmd":"listen","protocol":"TCP","port":80,"app":"echo"}
//            {"id":2,"cmd":"connect","dst":"10.96.0.100","dport":8080,"sport":20001,"timeoutMs":1500}
//            {"id":3,"cmd":"udp", ...same fields}
//            {"id":4,"cmd":"dns","protocol":"udp","dst":"10.96.0.10","dport":53,"name":"x","qtype":"A","qid":7, ...}
// Replies:   {"id":1,"ok":true} | {"id":1,"error":"..."} | {"id":2,"result":"connected",...}
// Events:    {"event":"seen","app":"dns","protocol":"udp","qid":7,"ip":..,"port":..,"sourceIp":..,"sourcePort":..}

import { execFile } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { buildResponse, decodeMessage, encodeQuery, rcodeName, tcpFrame, type DnsQueryType, type DnsZone } from "./dns-wire.js";

/** What an echo server tells its client: who answered and what source it saw. */
export interface ServerReport {
  host: string;
  ip: string;
  port: number;
  sourceIp: string;
  sourcePort: number;
}

export type AgentResult = "connected" | "refused" | "timeout" | "net-unreachable" | "host-unreachable";

export interface AgentProbeReply {
  id: number;
  result: AgentResult;
  /** The errno code the socket reported, when it failed. */
  errno?: string;
  /** The client socket's own address and port. */
  local?: { ip: string; port: number };
  /** What the echo server reported (TCP line or UDP datagram), when it answered. */
  report?: ServerReport;
  dns?: { rcode: "NOERROR" | "NXDOMAIN" | "SERVFAIL"; answers: Array<{ type: "A" | "CNAME"; name: string; value: string }> };
}

interface ListenCmd {
  id: number;
  cmd: "listen";
  protocol: "TCP" | "UDP";
  port: number;
  app: "echo" | "dns";
  zone?: DnsZone;
}
interface ProbeCmd {
  id: number;
  cmd: "connect" | "udp" | "dns";
  dst: string;
  dport: number;
  sport?: number;
  timeoutMs: number;
  protocol?: "tcp" | "udp";
  name?: string;
  qtype?: DnsQueryType;
  qid?: number;
}
/** Runs a program in this namespace (cheaper than a fresh `ip netns exec` per command). */
interface ExecCmd {
  id: number;
  cmd: "exec";
  argv: string[];
  input?: string;
}
/** Reads a file as this namespace sees it (/proc/net/nf_conntrack). */
interface ReadCmd {
  id: number;
  cmd: "read";
  path: string;
}
type Cmd = ListenCmd | ProbeCmd | ExecCmd | ReadCmd | { id: number; cmd: "hello" };

const host = process.argv[2] ?? "unknown";
const servers: Array<Server | UdpSocket> = [];

function send(obj: object): void {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

function errnoToResult(code: string | undefined): AgentResult {
  switch (code) {
    case "ECONNREFUSED":
      return "refused";
    case "ENETUNREACH":
      return "net-unreachable";
    case "EHOSTUNREACH":
      return "host-unreachable";
    default:
      // ETIMEDOUT, our own deadline, and anything else that means "nothing usable came back".
      return "timeout";
  }
}

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? String(err);
}

function listen(cmd: ListenCmd): Promise<void> {
  const zone = cmd.zone ?? {};
  return new Promise((resolve, reject) => {
    if (cmd.protocol === "TCP") {
      const server = createServer((sock) => {
        sock.on("error", () => sock.destroy());
        const report: ServerReport = {
          host,
          ip: sock.localAddress ?? "",
          port: sock.localPort ?? 0,
          sourceIp: sock.remoteAddress ?? "",
          sourcePort: sock.remotePort ?? 0,
        };
        if (cmd.app === "echo") {
          sock.end(JSON.stringify(report) + "\n");
          return;
        }
        // DNS over TCP: answer each length-prefixed query, then let the client close.
        let buf = Buffer.alloc(0);
        sock.on("data", (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
            const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
            buf = buf.subarray(2 + msg.length);
            answerDns(msg, "tcp", report, zone, (reply) => sock.write(tcpFrame(reply)));
          }
        });
      });
      server.once("error", reject);
      server.listen({ port: cmd.port, host: "0.0.0.0" }, () => {
        servers.push(server);
        resolve();
      });
    } else {
      const sock = createSocket("udp4");
      sock.once("error", reject);
      sock.on("message", (msg, rinfo) => {
        const addr = sock.address();
        const report: ServerReport = { host, ip: addr.address, port: addr.port, sourceIp: rinfo.address, sourcePort: rinfo.port };
        if (cmd.app === "echo") {
          sock.send(JSON.stringify(report), rinfo.port, rinfo.address);
        } else {
          answerDns(msg, "udp", report, zone, (reply) => sock.send(reply, rinfo.port, rinfo.address));
        }
      });
      sock.bind({ port: cmd.port, address: "0.0.0.0" }, () => {
        servers.push(sock);
        resolve();
      });
    }
  });
}

function answerDns(msg: Buffer, protocol: "tcp" | "udp", report: ServerReport, zone: DnsZone, reply: (b: Buffer) => void): void {
  let response: Buffer;
  try {
    response = buildResponse(msg, zone);
  } catch {
    return; // Not a DNS message: a real server ignores it too.
  }
  // An unconnected UDP socket's local address is 0.0.0.0; the event names the port it took.
  send({ event: "seen", app: "dns", protocol, qid: msg.readUInt16BE(0), ...report });
  reply(response);
}

function tcpProbe(cmd: ProbeCmd): Promise<AgentProbeReply> {
  return new Promise((resolve) => {
    let done = false;
    let connected = false;
    let local: AgentProbeReply["local"];
    let data = "";
    let dnsBytes = Buffer.alloc(0);
    const finish = (r: Omit<AgentProbeReply, "id">): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ id: cmd.id, local, ...r });
    };
    const sock: Socket = connect({ host: cmd.dst, port: cmd.dport, localPort: cmd.sport, localAddress: cmd.sport ? "0.0.0.0" : undefined });
    const timer = setTimeout(() => {
      // Connected but the server never finished its line: still a completed handshake.
      if (connected) finish({ result: "connected" });
      else finish({ result: "timeout", errno: "ETIMEDOUT" });
    }, cmd.timeoutMs);
    sock.on("connect", () => {
      connected = true;
      local = { ip: sock.localAddress ?? "", port: sock.localPort ?? 0 };
      if (cmd.cmd === "dns") sock.write(tcpFrame(encodeQuery(cmd.qid ?? 0, cmd.name ?? "", cmd.qtype ?? "A")));
    });
    sock.on("data", (chunk: Buffer) => {
      if (cmd.cmd === "dns") {
        dnsBytes = Buffer.concat([dnsBytes, chunk]);
        if (dnsBytes.length >= 2 && dnsBytes.length >= 2 + dnsBytes.readUInt16BE(0)) {
          finish({ result: "connected", dns: dnsResult(dnsBytes.subarray(2, 2 + dnsBytes.readUInt16BE(0))) });
        }
        return;
      }
      data += chunk.toString("utf8");
      const nl = data.indexOf("\n");
      if (nl >= 0) finish({ result: "connected", report: parseReport(data.slice(0, nl)) });
    });
    sock.on("end", () => finish({ result: connected ? "connected" : "timeout", report: parseReport(data) }));
    sock.on("error", (err) => {
      if (connected) finish({ result: "connected", errno: errCode(err) });
      else finish({ result: errnoToResult(errCode(err)), errno: errCode(err) });
    });
  });
}

function udpProbe(cmd: ProbeCmd): Promise<AgentProbeReply> {
  return new Promise((resolve) => {
    let done = false;
    const sock = createSocket("udp4");
    let local: AgentProbeReply["local"];
    const finish = (r: Omit<AgentProbeReply, "id">): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve({ id: cmd.id, local, ...r });
    };
    const timer = setTimeout(() => finish({ result: "timeout", errno: "ETIMEDOUT" }), cmd.timeoutMs);
    // Errors of a connected UDP socket carry the ICMP error that came back (ECONNREFUSED for
    // port unreachable, EHOSTUNREACH, ENETUNREACH).
    sock.on("error", (err) => finish({ result: errnoToResult(errCode(err)), errno: errCode(err) }));
    sock.on("message", (msg) => {
      if (cmd.cmd === "dns") {
        finish({ result: "connected", dns: dnsResult(msg) });
      } else {
        finish({ result: "connected", report: parseReport(msg.toString("utf8")) });
      }
    });
    sock.bind({ port: cmd.sport ?? 0, address: "0.0.0.0" }, () => {
      sock.connect(cmd.dport, cmd.dst, (err?: Error) => {
        if (err) return finish({ result: errnoToResult(errCode(err)), errno: errCode(err) });
        const a = sock.address();
        local = { ip: a.address, port: a.port };
        const payload = cmd.cmd === "dns" ? encodeQuery(cmd.qid ?? 0, cmd.name ?? "", cmd.qtype ?? "A") : Buffer.from("svcspec probe\n");
        sock.send(payload, (sendErr) => {
          if (sendErr) finish({ result: errnoToResult(errCode(sendErr)), errno: errCode(sendErr) });
        });
      });
    });
  });
}

/** The parsed answer; undefined when what came back is not a DNS message. */
function dnsResult(msg: Buffer): AgentProbeReply["dns"] {
  try {
    const m = decodeMessage(msg);
    return { rcode: rcodeName(m.rcode), answers: m.answers };
  } catch {
    return undefined;
  }
}

function parseReport(text: string): ServerReport | undefined {
  try {
    const r = JSON.parse(text.trim()) as ServerReport;
    return typeof r.sourceIp === "string" ? r : undefined;
  } catch {
    return undefined;
  }
}

function execCapture(argv: string[], input?: string): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
      resolve({ stdout, stderr: stderr || (err && code === 127 ? err.message : ""), code });
    });
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input ?? "");
  });
}

async function handle(cmd: Cmd): Promise<void> {
  try {
    switch (cmd.cmd) {
      case "hello":
        send({ id: cmd.id, ok: true, host, pid: process.pid });
        return;
      case "listen":
        await listen(cmd);
        send({ id: cmd.id, ok: true });
        return;
      case "connect":
        send(await tcpProbe(cmd));
        return;
      case "udp":
        send(await udpProbe(cmd));
        return;
      case "dns":
        send(await (cmd.protocol === "tcp" ? tcpProbe(cmd) : udpProbe(cmd)));
        return;
      case "read":
        send({ id: cmd.id, text: await readFile(cmd.path, "utf8") });
        return;
      case "exec":
        send({ id: cmd.id, ...(await execCapture(cmd.argv, cmd.input)) });
        return;
    }
  } catch (err) {
    send({ id: cmd.id, error: err instanceof Error ? err.message : String(err) });
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "") return;
  let cmd: Cmd;
  try {
    cmd = JSON.parse(line) as Cmd;
  } catch {
    send({ id: -1, error: `not JSON: ${line.slice(0, 80)}` });
    return;
  }
  void handle(cmd);
});
// The parent is gone (finished, crashed or killed): nothing may outlive it.
lines.on("close", () => process.exit(0));
