/**
 * Values a careless or hostile caller may pass anywhere: what the sweep tests
 * hand to every public function. Shared by both lines' tests.
 */

/** A function that throws: a getter, a trap, a `toString`. */
export const trap = (): never => {
  throw new Error("trap")
}

/** A Proxy every one of whose traps throws. */
export const throwingProxy = new Proxy({}, {
  apply: trap,
  construct: trap,
  defineProperty: trap,
  deleteProperty: trap,
  get: trap,
  getOwnPropertyDescriptor: trap,
  getPrototypeOf: trap,
  has: trap,
  isExtensible: trap,
  ownKeys: trap,
  preventExtensions: trap,
  set: trap,
  setPrototypeOf: trap
})

/** An object whose `toString` and `valueOf` throw. */
export const unprintable = { toString: trap, valueOf: trap }

/** Each hostile value with its label. */
export const hostile: ReadonlyArray<readonly [string, unknown]> = [
  ["null", null],
  ["undefined", undefined],
  ["Symbol()", Symbol("hostile")],
  ["a Proxy whose traps throw", throwingProxy],
  ["NaN", Number.NaN],
  ["-1", -1],
  ["1.5", 1.5],
  ["2 ** 53", 2 ** 53],
  ["{}", {}],
  ["Object.create(null)", Object.create(null)],
  ["\"\"", ""],
  ["a 1 MiB string", "x".repeat(1 << 20)],
  ["an object whose toString throws", unprintable]
]
