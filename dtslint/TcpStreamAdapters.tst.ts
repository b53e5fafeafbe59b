import type { Duplex } from "node:stream"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type * as PublishedNetError from "effect-netpoll/NetError"
import * as PublishedTcpStream from "effect-netpoll/TcpStream"
import { describe, expect, it } from "tstyche"
import type * as NetError from "../src/NetError.js"
import * as TcpStream from "../src/TcpStream.js"

declare const stream: TcpStream.TcpStream
declare const published: PublishedTcpStream.TcpStream

describe("TcpStream.toStream", () => {
  it("is a Stream of byte chunks that fails with NetError and needs nothing", () => {
    expect(TcpStream.toStream(stream)).type.toBe<Stream.Stream<Uint8Array, NetError.NetError>>()
    expect(TcpStream.toStream(stream, { chunkSize: 1024 })).type.toBe<Stream.Stream<Uint8Array, NetError.NetError>>()
  })

  it("StreamOptions: chunkSize is a number", () => {
    expect<TcpStream.StreamOptions>().type.toBe<{ readonly chunkSize?: number | undefined }>()
    expect(TcpStream.toStream).type.toBeCallableWith(stream, {})
    expect(TcpStream.toStream).type.not.toBeCallableWith(stream, { chunkSize: "64k" })
    expect(TcpStream.toStream).type.not.toBeCallableWith(stream, { highWaterMark: 1024 })
    expect(TcpStream.toStream).type.not.toBeCallableWith({ fd: 3 })
    expect(TcpStream.toStream).type.not.toBeCallableWith()
  })

  it("decodes to lines with Effect 4's Stream combinators", () => {
    expect(TcpStream.toStream(stream).pipe(Stream.decodeText(), Stream.splitLines, Stream.runCollect)).type.toBe<
      Effect.Effect<Array<string>, NetError.NetError>
    >()
  })
})

describe("TcpStream.toSink", () => {
  it("consumes Uint8Array with no leftovers and fails with NetError", () => {
    expect(TcpStream.toSink(stream)).type.toBe<Sink.Sink<void, Uint8Array, never, NetError.NetError>>()
    expect(TcpStream.toSink).type.not.toBeCallableWith()
  })

  it("runs a Stream of bytes, and no Stream of strings", () => {
    expect(Stream.run(TcpStream.toStream(stream), TcpStream.toSink(stream))).type.toBe<
      Effect.Effect<void, NetError.NetError>
    >()
    expect(Stream.run(Stream.make(Buffer.from("x")), TcpStream.toSink(stream))).type.toBe<
      Effect.Effect<void, NetError.NetError>
    >()
    expect(Stream.run).type.not.toBeCallableWith(Stream.make("text"), TcpStream.toSink(stream))
  })
})

describe("TcpStream.toDuplex", () => {
  it("gives a node:stream Duplex in a Scope and cannot fail", () => {
    expect(TcpStream.toDuplex(stream)).type.toBe<Effect.Effect<Duplex, never, Scope.Scope>>()
    expect(TcpStream.toDuplex(stream, { chunkSize: 16 * 1024, allowHalfOpen: false })).type.toBe<
      Effect.Effect<Duplex, never, Scope.Scope>
    >()
  })

  it("DuplexOptions: chunkSize and allowHalfOpen", () => {
    expect<TcpStream.DuplexOptions>().type.toBe<{
      readonly chunkSize?: number | undefined
      readonly allowHalfOpen?: boolean | undefined
    }>()
    expect(TcpStream.toDuplex).type.not.toBeCallableWith(stream, { allowHalfOpen: "yes" })
    expect(TcpStream.toDuplex).type.not.toBeCallableWith(stream, { objectMode: true })
  })

  it("Effect.scoped removes the Scope requirement", () => {
    expect(Effect.scoped(TcpStream.toDuplex(stream))).type.toBe<Effect.Effect<Duplex>>()
  })
})

describe("published declarations", () => {
  it("keep the adapters' types", () => {
    // Through package.json "exports" (dist/*.d.ts): run `npm run build` first.
    expect(PublishedTcpStream.toStream(published)).type.toBe<Stream.Stream<Uint8Array, PublishedNetError.NetError>>()
    expect(PublishedTcpStream.toSink(published)).type.toBe<
      Sink.Sink<void, Uint8Array, never, PublishedNetError.NetError>
    >()
    expect(PublishedTcpStream.toDuplex(published)).type.toBe<Effect.Effect<Duplex, never, Scope.Scope>>()
  })
})
