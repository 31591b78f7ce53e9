// readText: a dump is read as the same text whether or not it is all ASCII.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readText } from "../../src/cli/read-text.js";

const dir = mkdtempSync(join(tmpdir(), "svcspec-read-text-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function roundTrip(name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return readText(path);
}

describe("readText", () => {
  it("reads ASCII text as it is", () => {
    const text = '*nat\n-A KUBE-SERVICES -m comment --comment "ns/svc:http" -j KUBE-SVC-X\nCOMMIT\n';
    expect(roundTrip("ascii.rules", Buffer.from(text))).toBe(text);
  });

  it("decodes UTF-8 (a comment in another script, an emoji) as UTF-8, not byte by byte", () => {
    const text = '-A X -m comment --comment "café/日本:😀" -j ACCEPT\n';
    const got = roundTrip("utf8.rules", Buffer.from(text, "utf8"));
    expect(got).toBe(text);
    expect(got.length).toBeLessThan(Buffer.byteLength(text));
  });

  it("replaces bytes that are not UTF-8 as a UTF-8 read does", () => {
    const bytes = Buffer.from([0x2d, 0x41, 0x20, 0xff, 0xfe, 0x0a]);
    expect(roundTrip("bad.rules", bytes)).toBe(bytes.toString("utf8"));
    expect(roundTrip("bad.rules", bytes)).toContain("\ufffd");
  });

  it("throws the file system's error for a missing file", () => {
    expect(() => readText(join(dir, "missing.rules"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
  });
});
