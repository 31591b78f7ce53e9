// After chevrotain's grammar recording the parser must call the real DSL methods again. Our
// disableRecording overwrites the recording stand-ins with the prototype's methods instead of
// deleting them (see parser.ts): every one must now be the prototype's own function.

import { describe, expect, it } from "vitest";
import { svcspecParser } from "../../src/lang/parser.js";

describe("the parser after grammar recording", () => {
  it("finds the prototype's DSL methods, not the recording stand-ins", () => {
    const p = svcspecParser as unknown as Record<string, unknown>;
    const proto = Object.getPrototypeOf(svcspecParser) as Record<string, unknown>;
    expect(p.RECORDING_PHASE).toBe(false);
    const names = ["consume", "subrule", "option", "or", "many", "atLeastOne", "ACTION", "BACKTRACK", "LA"];
    for (let i = 0; i < 10; i++)
      for (const dsl of ["CONSUME", "SUBRULE", "OPTION", "OR", "MANY", "MANY_SEP", "AT_LEAST_ONE", "AT_LEAST_ONE_SEP"]) names.push(`${dsl}${i > 0 ? i : ""}`);
    for (const name of names) {
      expect(typeof proto[name], name).toBe("function");
      expect(p[name], name).toBe(proto[name]);
    }
  });
});
