import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import { describe, expect, it } from "tstyche"
import * as BufReader from "../src/BufReader.js"
import * as BufWriter from "../src/BufWriter.js"
import type * as Io from "../src/Io.js"
import type * as NetError from "../src/NetError.js"
import type * as TcpStream from "../src/TcpStream.js"

declare const stream: TcpStream.TcpStream
declare const reader: BufReader.BufReader
declare const writer: BufWriter.BufWriter
declare const buf: Uint8Array

describe("Io", () => {
  it("a TcpStream is a Reader and a Writer; so are a BufReader and a BufWriter", () => {
    expect(stream).type.toBeAssignableTo<Io.Reader & Io.Writer>()
    expect(reader).type.toBeAssignableTo<Io.Reader>()
    expect(writer).type.toBeAssignableTo<Io.Writer>()
    expect(reader).type.not.toBeAssignableTo<Io.Writer>()
  })

  it("vectored calls take arrays of Uint8Array; readToEnd needs maxBytes", () => {
    expect(stream.readVectored([buf, buf])).type.toBe<Effect.Effect<number, NetError.NetError>>()
    expect(stream.writeAllVectored([buf])).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(stream.readToEnd({ maxBytes: 1024 })).type.toBe<Effect.Effect<Uint8Array, NetError.NetError>>()
    expect(stream.readToString({ maxBytes: 1024 })).type.toBe<Effect.Effect<string, NetError.NetError>>()
    expect(stream.readVectored).type.not.toBeCallableWith(buf)
    expect(stream.readToEnd).type.not.toBeCallableWith()
    expect(stream.readToEnd).type.not.toBeCallableWith({})
  })
})

describe("BufReader", () => {
  it("make needs no Scope; its reads fail with NetError", () => {
    expect(BufReader.make(stream, { capacity: 4096 })).type.toBe<Effect.Effect<BufReader.BufReader>>()
    expect(reader.readLine({ maxLength: 100 })).type.toBe<Effect.Effect<Option.Option<string>, NetError.NetError>>()
    expect(reader.readUntil(10)).type.toBe<Effect.Effect<Option.Option<Uint8Array>, NetError.NetError>>()
    expect(reader.peek(4)).type.toBe<Effect.Effect<Uint8Array, NetError.NetError>>()
    expect(reader.takeBuffered).type.toBe<Effect.Effect<Uint8Array>>()
  })

  it("frames need a prefix of 1, 2 or 4 bytes and a maxLength", () => {
    expect(reader.readFrame({ prefix: 4, maxLength: 1 << 20 })).type.toBe<
      Effect.Effect<Option.Option<Uint8Array>, NetError.NetError>
    >()
    expect(reader.readFrame).type.not.toBeCallableWith({ prefix: 3, maxLength: 1 })
    expect(reader.readFrame).type.not.toBeCallableWith({ prefix: 4 })
    expect(BufReader.frames(reader, { prefix: 2, endian: "little", maxLength: 10 })).type.toBe<
      Stream.Stream<Uint8Array, NetError.NetError>
    >()
    expect(BufReader.lines(reader)).type.toBe<Stream.Stream<string, NetError.NetError>>()
  })
})

describe("BufWriter", () => {
  it("make needs a Scope (it flushes when the Scope closes)", () => {
    expect(BufWriter.make(stream)).type.toBe<Effect.Effect<BufWriter.BufWriter, never, Scope.Scope>>()
    expect(writer.flush).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(writer.writeFrame(buf, { prefix: 2 })).type.toBe<Effect.Effect<void, NetError.NetError>>()
    expect(writer.writeFrame).type.not.toBeCallableWith(buf, { prefix: 8 })
  })
})
