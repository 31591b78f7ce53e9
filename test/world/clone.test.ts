// cloneData is structuredClone for the objects svcspec copies: same values, same shape, fresh
// objects, shared references kept shared; anything else is handed to structuredClone.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cloneData } from "../../src/world/clone.js";

function expectSameCopy(value: unknown): void {
  const ours = cloneData(value);
  expect(ours).toStrictEqual(structuredClone(value));
  if (typeof value === "object" && value !== null) expect(ours).not.toBe(value);
}

describe("cloneData", () => {
  it("copies JSON-like data as structuredClone does", () => {
    fc.assert(fc.property(fc.jsonValue(), expectSameCopy), { numRuns: 500 });
  });

  it("copies anything structuredClone can, as structuredClone does", () => {
    const cloneable = fc.anything({
      withBoxedValues: false,
      withMap: true,
      withSet: true,
      withDate: true,
      withTypedArray: true,
      withSparseArray: true,
      withNullPrototype: true,
      withObjectString: true,
      withBigInt: true,
    });
    fc.assert(fc.property(cloneable, expectSameCopy), { numRuns: 500 });
  });

  it("keeps undefined-valued keys, -0, a Date from a YAML timestamp and a __proto__ key", () => {
    expectSameCopy({ a: undefined, b: -0, c: [1, undefined, "x"] });
    const dated = cloneData({ metadata: { annotations: { when: new Date(0) } } });
    expect(dated.metadata.annotations.when).toBeInstanceOf(Date);
    const own = JSON.parse('{"__proto__": {"x": 1}, "y": 2}');
    const copy = cloneData(own);
    expect(Object.keys(copy)).toEqual(["__proto__", "y"]);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });

  it("keeps shared and cyclic references shared", () => {
    const shared = { app: "web" };
    const svc = { spec: { selector: shared }, metadata: { labels: shared } } as Record<string, unknown> & { self?: unknown };
    svc.self = svc;
    const copy = cloneData(svc) as typeof svc & { spec: { selector: object }; metadata: { labels: object } };
    expect(copy.spec.selector).toBe(copy.metadata.labels);
    expect(copy.spec.selector).not.toBe(shared);
    expect(copy.self).toBe(copy);
  });

  it("refuses what structuredClone refuses", () => {
    expect(() => cloneData({ f: () => 1 })).toThrow();
    expect(() => cloneData({ s: Symbol("x") })).toThrow();
  });
});
