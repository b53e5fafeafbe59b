/** The runtime-free core, as this line reaches it: the one import path the shared bindings use. */
export * as attributes from "../../../dist/core/attributes.js"
export * as duplex from "../../../dist/core/duplex.js"
export * as errno from "../../../dist/core/errno.js"
export * as listener from "../../../dist/core/listener.js"
export { addon } from "../../../dist/core/native.js"
export * as poller from "../../../dist/core/poller.js"
export * as resolver from "../../../dist/core/resolve.js"
export * as stream from "../../../dist/core/stream.js"
