/**
 * An in-memory Tracer for tests (from ./line.js: each line builds its spans its
 * own way) and what tests ask of the spans it keeps.
 */
import type { RecordedSpan } from "./line.js"

export { RecordedSpan, recordingTracer } from "./line.js"

export const named = (spans: ReadonlyArray<RecordedSpan>, name: string) => spans.filter((span) => span.name === name)

/** A connect or accept span's attributes for a connection on 127.0.0.1. */
export const loopbackAttributes = (serverPort: number, peerPort: number) => ({
  "network.transport": "tcp",
  "server.address": "127.0.0.1",
  "server.port": serverPort,
  "network.peer.address": "127.0.0.1",
  "network.peer.port": peerPort,
  "network.type": "ipv4"
})
