import type * as MetricLabel from "effect/MetricLabel"
import type { poller } from "./core.js"
import { bytesRead, bytesWritten, connectionsAccepted, connectionsOpened, socketsOpen } from "./metricDefs.js"

export { metrics } from "./metricDefs.js"

// One shared empty label array: an untagged update then hits the metric's cached
// hook (a closure call and an addition), never the registry. These are plain
// synchronous calls so that the read and write paths gain no Effect op.
const untagged: ReadonlyArray<MetricLabel.MetricLabel> = []

/** What the core's pollers count: sockets opened and closed, bytes moved. */
export const hooks: poller.Hooks = {
  opened: () => socketsOpen.unsafeModify(1, untagged),
  closed: () => socketsOpen.unsafeModify(-1, untagged),
  transferred: (direction, n) => {
    if (direction === "read") bytesRead.unsafeUpdate(n, untagged)
    else bytesWritten.unsafeUpdate(n, untagged)
  }
}

export const accepted = (): void => connectionsAccepted.unsafeUpdate(1, untagged)

export const connected = (): void => connectionsOpened.unsafeUpdate(1, untagged)
