import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type * as NetError from "../NetError.js"
import type * as TcpStream from "../TcpStream.js"
import { duplex } from "./core.js"
import { adapterDefect, writeAllOf } from "./tcpDuplex.js"
import type { AnyStream } from "./tcpStream.js"

export const toStream = (
  stream: AnyStream,
  options?: TcpStream.StreamOptions
): Stream.Stream<Uint8Array, NetError.NetError> =>
  Stream.suspend(() => {
    const defect = adapterDefect("toStream", stream, options)
    if (defect !== undefined) return Stream.die(defect)
    const size = options?.chunkSize ?? duplex.DEFAULT_CHUNK_SIZE
    // One buffer per run, reused by every read; each element is a copy of what one read filled,
    // and a read runs only when the consumer pulls, so the kernel holds everything not yet asked for.
    const buf = new Uint8Array(size)
    return Stream.repeatEffectOption(
      Effect.matchEffect(stream.read(buf), {
        onFailure: (error) => Effect.fail(Option.some(error)),
        onSuccess: (n) => n === 0 ? Effect.fail(Option.none()) : Effect.succeed(buf.slice(0, n))
      })
    )
  })

export const toSink = (stream: AnyStream): Sink.Sink<void, Uint8Array, never, NetError.NetError> =>
  Sink.suspend(() => {
    const defect = adapterDefect("toSink", stream)
    return defect !== undefined
      ? Sink.die(defect)
      : Sink.forEachChunk((chunk: Chunk.Chunk<Uint8Array>) => writeAllOf(stream, Chunk.toReadonlyArray(chunk)))
  })

export { toDuplex } from "./tcpDuplex.js"
