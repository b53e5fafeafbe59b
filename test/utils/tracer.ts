/**
 * An in-memory Tracer for tests: it keeps every span it starts, in order.
 */
import type * as Exit from "effect/Exit"
import * as Tracer from "effect/Tracer"

/** Effect's own span, with the exit it ended with at hand. */
export class RecordedSpan extends Tracer.NativeSpan {
  get exit(): Exit.Exit<unknown, unknown> | undefined {
    return this.status._tag === "Ended" ? this.status.exit : undefined
  }
}

/**
 * A tracer that keeps every span it starts, in order. With `sampled: false` it
 * acts as a sampler that drops them all: every span it makes is unsampled.
 */
export const recordingTracer = (sampled = true) => {
  const spans: Array<RecordedSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new RecordedSpan(sampled ? options : { ...options, sampled: false })
      spans.push(span)
      return span
    }
  })
  return { spans, tracer }
}

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
