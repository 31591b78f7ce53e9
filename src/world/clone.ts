// Deep copies of Kubernetes objects, as structuredClone makes them, without its serialisation:
// structuredClone was most of the cost of admitting a Service (defaulting and every update copy
// the object) and of copying a world for a scenario's changes.

/** Thrown inside copyPlain when the value holds something other than plain objects and arrays. */
const NOT_PLAIN = Symbol("not plain data");

function copyPlain(value: unknown, copies: Map<object, unknown>): unknown {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "function" || typeof value === "symbol") throw NOT_PLAIN;
    return value;
  }
  const seen = copies.get(value);
  if (seen !== undefined) return seen; // shared or cyclic references stay shared, as structuredClone keeps them
  if (Array.isArray(value)) {
    // Holes and extra properties are structuredClone's business.
    if (Object.getPrototypeOf(value) !== Array.prototype || Object.keys(value).length !== value.length) throw NOT_PLAIN;
    const out: unknown[] = new Array(value.length);
    copies.set(value, out);
    for (let i = 0; i < value.length; i++) out[i] = copyPlain(value[i], copies);
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw NOT_PLAIN; // Date, Map, Set, class instances ...
  const out: Record<string, unknown> = {};
  copies.set(value, out);
  for (const key of Object.keys(value)) {
    if (key === "__proto__") throw NOT_PLAIN; // an assignment would set the prototype, not the key
    out[key] = copyPlain((value as Record<string, unknown>)[key], copies);
  }
  return out;
}

/**
 * structuredClone(value): the same copy for plain data (objects, arrays, primitives, shared and
 * cyclic references); anything else (a Date from a YAML 1.1 timestamp, a Map ...) goes to
 * structuredClone itself.
 */
export function cloneData<T>(value: T): T {
  try {
    return copyPlain(value, new Map()) as T;
  } catch (err) {
    if (err === NOT_PLAIN) return structuredClone(value);
    throw err;
  }
}
