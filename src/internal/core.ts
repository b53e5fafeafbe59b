/** The runtime-free core, as this line reaches it: the one import path the shared bindings use. */
export * as attributes from "../core/attributes.js"
export * as duplex from "../core/duplex.js"
export * as errno from "../core/errno.js"
export * as listener from "../core/listener.js"
export { addon } from "../core/native.js"
export * as poller from "../core/poller.js"
export * as resolver from "../core/resolve.js"
export * as stream from "../core/stream.js"
