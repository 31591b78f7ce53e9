// lodash functions for chevrotain in the CLI bundle (scripts/build.mjs puts them in place of
// lodash-es's, for chevrotain's imports only). chevrotain builds its grammar model at start-up
// by recording every rule, and each model node's constructor copies its options with
// `assign(this, pickBy(options, (v) => v !== undefined))`: lodash's generic pickBy (all keys,
// inherited ones and symbols, each as a path) was most of that recording, paid by every run.

import { has as lodashHas, pickBy as lodashPickBy } from "lodash-es";

const plainPrototype = Object.prototype;

/**
 * lodash's pickBy, with a direct loop for what chevrotain passes (plain objects without
 * symbols, not array-like, and a predicate function): the same keys in the same order, the same
 * predicate calls (value, key). Anything else goes to lodash's own.
 */
export function pickBy(object, predicate) {
  if (
    object === null ||
    typeof object !== "object" ||
    typeof predicate !== "function" ||
    Object.getPrototypeOf(object) !== plainPrototype ||
    object.length !== undefined ||
    Object.hasOwn(object, "__proto__") ||
    Object.getOwnPropertySymbols(object).length > 0
  ) {
    return lodashPickBy(object, predicate);
  }
  const picked = {};
  for (const key in object) {
    const value = object[key];
    // lodash's baseSet never writes these three keys (its guard against prototype pollution),
    // though the predicate is asked about them.
    if (predicate(value, key) && key !== "__proto__" && key !== "constructor" && key !== "prototype") picked[key] = value;
  }
  return picked;
}

/** A key lodash's has reads as one own property name (not a path, not an array index). */
const PLAIN_NAME = /^[A-Za-z_$][\w$]*$/;
const hasOwn = Object.prototype.hasOwnProperty;

/**
 * lodash's has for a plain property name (chevrotain asks `has(tokType, "tokenTypeIdx")`,
 * `has(config, "resyncEnabled")` ... for every token type and rule at start-up): an own-property
 * check, which is what lodash's path machinery ends in for such a name. Other keys go to lodash.
 */
export function has(object, key) {
  if (typeof key !== "string" || !PLAIN_NAME.test(key)) return lodashHas(object, key);
  return object != null && hasOwn.call(object, key);
}
