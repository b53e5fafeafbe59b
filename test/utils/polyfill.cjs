/**
 * Node 20 polyfills for vitest 5, which declares Node >= 22: its reporter (in
 * the vitest main process) calls `Map.groupBy` when it prints a failure, and
 * `Object.groupBy` and `Promise.withResolvers` elsewhere. Node 20 has none of
 * the three; each is defined only where missing, as the spec describes it.
 *
 * Loaded by vitest.config.ts in both processes that need it: by the config
 * itself in the vitest main process (before any reporter runs), and through
 * `execArgv: ["--require", <this file>]` in every forked worker. So a plain
 * `npx vitest run` (and `npm run test:effect4`) has it on Node 20; on Node >= 22
 * every function already exists and nothing is defined.
 *
 * CommonJS so that `node --require` can load it.
 */
"use strict"

const define = (target, name, value) => {
  if (typeof target[name] === "function") return
  Object.defineProperty(target, name, { configurable: true, writable: true, enumerable: false, value })
}

define(Map, "groupBy", function groupBy(items, callback) {
  const groups = new Map()
  let index = 0
  for (const item of items) {
    const key = callback(item, index++)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [item])
    else group.push(item)
  }
  return groups
})

define(Object, "groupBy", function groupBy(items, callback) {
  const groups = Object.create(null)
  let index = 0
  for (const item of items) {
    const key = callback(item, index++)
    const property = typeof key === "symbol" ? key : String(key)
    if (Object.prototype.hasOwnProperty.call(groups, property)) groups[property].push(item)
    else groups[property] = [item]
  }
  return groups
})

define(Promise, "withResolvers", function withResolvers() {
  let resolve
  let reject
  const promise = new this((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
})
