/**
 * An in-memory Tracer for tests: it keeps every span it starts, in order.
 */
import type * as Exit from "effect/Exit"
import type * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

export class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly spanId: string
  readonly traceId = "trace"
  readonly attributes = new Map<string, unknown>()
  status: Tracer.SpanStatus

  constructor(
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Tracer.Span["context"],
    readonly links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind,
    id: number,
    readonly sampled: boolean
  ) {
    this.spanId = `span-${id}`
    this.status = { _tag: "Started", startTime }
  }

  get exit(): Exit.Exit<unknown, unknown> | undefined {
    return this.status._tag === "Ended" ? this.status.exit : undefined
  }

  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }

  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }

  event(): void {}

  addLinks(): void {}
}

/** A tracer that keeps every span it starts, in order; `sampled: false` as a sampler dropping them all. */
export const recordingTracer = (sampled = true) => {
  const spans: Array<RecordedSpan> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new RecordedSpan(name, parent, context, links, startTime, kind, spans.length + 1, sampled)
      spans.push(span)
      return span
    },
    context: (f) => f()
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
