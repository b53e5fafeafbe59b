import * as Context from "effect/Context"
import type { poller } from "./core.js"
import { bytesRead, bytesWritten, connectionsAccepted, connectionsOpened, socketsOpen } from "./metricDefs.js"

export { metrics } from "./metricDefs.js"

// The updates are plain synchronous calls, so that the read and write paths gain
// no Effect op; the empty context selects the global registry.
const global = Context.empty()

/** What the core's pollers count: sockets opened and closed, bytes moved. */
export const hooks: poller.Hooks = {
  opened: () => socketsOpen.modifyUnsafe(1, global),
  closed: () => socketsOpen.modifyUnsafe(-1, global),
  transferred: (direction, n) => (direction === "read" ? bytesRead : bytesWritten).updateUnsafe(n, global)
}

export const accepted = (): void => connectionsAccepted.updateUnsafe(1, global)

export const connected = (): void => connectionsOpened.updateUnsafe(1, global)
