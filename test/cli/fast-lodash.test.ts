// The CLI bundle gives chevrotain scripts/fast-lodash.mjs's pickBy and has instead of lodash's
// (see scripts/build.mjs): they must return what lodash's return (pickBy with the same
// predicate calls).

import fc from "fast-check";
// @ts-expect-error: lodash-es has no type declarations here (chevrotain's dependency, not ours)
import { has as lodashHas, pickBy as lodashPickBy } from "lodash-es";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the build, without type declarations
import { has, pickBy } from "../../scripts/fast-lodash.mjs";

type Pick = (o: unknown, p: (v: unknown, k: string) => boolean) => Record<string, unknown>;
const fast = pickBy as Pick;
const lodash = lodashPickBy as unknown as Pick;

function both(object: unknown, predicate: (v: unknown, k: string) => boolean): void {
  const calls: { fast: unknown[]; lodash: unknown[] } = { fast: [], lodash: [] };
  const a = fast(object, (v, k) => (calls.fast.push([v, k]), predicate(v, k)));
  const b = lodash(object, (v, k) => (calls.lodash.push([v, k]), predicate(v, k)));
  expect(Object.entries(a)).toEqual(Object.entries(b));
  expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(b));
  expect(calls.fast).toEqual(calls.lodash);
}

describe("the bundle's pickBy for chevrotain", () => {
  it("picks what lodash picks from chevrotain's option objects", () => {
    const defined = (v: unknown): boolean => v !== undefined;
    both({ definition: [], idx: 1, maxLookahead: undefined, name: "x" }, defined);
    both({ nonTerminalName: "rule", label: undefined, idx: 0, referencedRule: { name: "r" } }, defined);
    both({}, defined);
  });

  it("leaves out the keys lodash never sets (constructor, prototype), as lodash does", () => {
    // Found by the property below (fast-check seed -711701269): { prototype: {} }.
    both({ prototype: {}, a: 1 }, (v: unknown) => v !== undefined);
    both({ constructor: 1, b: 2 }, (v: unknown) => v !== undefined);
  });

  it("on any object, array, or odd value", () => {
    const odd = fc.constantFrom<unknown>(null, undefined, 0, "text", [1, , 3], Object.create({ inherited: 1 }), Object.assign(Object.create(null), { a: 1 }), { length: 2, 0: "a" }, { [Symbol("s")]: 1, a: 2 }, JSON.parse('{"__proto__": 1, "a": 2}'));
    const value = fc.oneof(fc.anything(), odd);
    const predicate = fc.constantFrom(
      (v: unknown) => v !== undefined,
      (v: unknown) => typeof v === "number",
      (_v: unknown, k: string) => k.length % 2 === 0,
    );
    fc.assert(fc.property(fc.oneof(fc.dictionary(fc.string(), fc.anything()), value), predicate, (o, p) => both(o, p)), { numRuns: 1000 });
  });
});

describe("the bundle's has for chevrotain", () => {
  it("answers what lodash answers, for any object and key", () => {
    const objects = fc.oneof(
      fc.anything(),
      fc.constantFrom<unknown>(null, undefined, [1, , 3], Object.create({ inherited: 1 }), { "a.b": 1, a: { b: 2 } }, { tokenTypeIdx: 0, CATEGORIES: [] }, "text"),
    );
    const keys = fc.oneof(fc.string(), fc.constantFrom<unknown>("tokenTypeIdx", "a", "a.b", "a[0]", "0", "1", "length", "__proto__", "inherited", "constructor", 1, -0, Symbol.iterator, ["a", "b"]));
    fc.assert(
      fc.property(objects, keys, (o, k) => {
        expect((has as (o: unknown, k: unknown) => boolean)(o, k)).toBe((lodashHas as (o: unknown, k: unknown) => boolean)(o, k));
      }),
      { numRuns: 3000 },
    );
  });
});
