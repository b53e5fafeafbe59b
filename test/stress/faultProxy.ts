/**
 * A fault-injecting TCP proxy on loopback, written with node:net: it accepts on
 * 127.0.0.1:0 and forwards each connection to `target`, damaging the traffic
 * as `mode` says.
 *
 * - `slices`: every byte is written on its own (the next write waits for the
 *   last one's callback), so the far end sees the stream one byte at a time.
 * - `stalls`: chunks are cut at random points and forwarding pauses 1..30 ms at
 *   random; nothing is lost.
 * - `reset`: after `after` bytes went from client to server, both sockets are
 *   reset (`resetAndDestroy()`: RST, not FIN).
 * - `halfClose`: after `after` bytes in `direction`, that direction is ended
 *   (FIN) and whatever comes later in it is read and dropped; the other
 *   direction goes on.
 * - `blackhole`: connections are accepted and never read, never forwarded,
 *   never closed (until the proxy closes).
 *
 * End of stream in a direction is forwarded as end of stream (half-open both
 * sides, as TCP is). The proxy and every socket it holds are destroyed when the
 * Scope closes.
 */
import * as net from "node:net"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { async } from "../utils/line.js"
import { int, rng } from "./harness.js"

export type FaultMode = "slices" | "stalls" | "reset" | "halfClose" | "blackhole"

export interface FaultOptions {
  readonly mode: FaultMode
  readonly seed: number
  /** reset, halfClose: bytes forwarded (in `direction`; client to server for reset) before the fault. */
  readonly after?: number
  /** halfClose: which direction ends early. */
  readonly direction?: "toServer" | "toClient"
}

export interface FaultProxy {
  readonly port: number
  /** Connections accepted so far. */
  readonly accepted: () => number
  /** Connections made to the target so far. */
  readonly forwarded: () => number
  /** Errors the proxy's sockets reported (ECONNRESET and the like): for diagnosis only. */
  readonly errors: ReadonlyArray<string>
}

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** Writes `chunk` and resolves once it has been handed to the kernel (its callback ran). */
const writeFlushed = (to: net.Socket, chunk: Uint8Array) =>
  new Promise<void>((resolve, reject) => to.write(chunk, (error) => (error ? reject(error) : resolve())))

/** Writes `chunk`, waiting for 'drain' when the socket's buffer is full. */
const writeBackpressured = async (to: net.Socket, chunk: Uint8Array) => {
  if (!to.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        to.off("drain", done)
        to.off("close", done)
        error === undefined ? resolve() : reject(error)
      }
      to.once("drain", done)
      to.once("close", () => done(new Error("closed while draining")))
    })
  }
}

export const faultProxy = (
  target: { readonly host: string; readonly port: number },
  options: FaultOptions
): Effect.Effect<FaultProxy, never, Scope.Scope> =>
  Effect.acquireRelease(
    async<{ readonly server: net.Server; readonly sockets: Set<net.Socket>; readonly proxy: FaultProxy }>((resume) => {
      const sockets = new Set<net.Socket>()
      const errors: Array<string> = []
      let accepted = 0
      let forwarded = 0
      const track = (socket: net.Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message))
      }

      const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: options.mode === "blackhole" }, (client) => {
        accepted++
        track(client)
        if (options.mode === "blackhole") return
        const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true })
        forwarded++
        track(upstream)
        client.setNoDelay(true)
        upstream.setNoDelay(true)
        const random = rng(options.seed + accepted)
        let toServer = 0
        let toClient = 0

        const forward = async (from: net.Socket, to: net.Socket, direction: "toServer" | "toClient") => {
          const cut = options.mode === "halfClose" && options.direction === direction ? options.after ?? 0 : Infinity
          let ended = false
          // destroyOnReturn: false, or the end of one direction would destroy the socket, both directions.
          for await (const data of from.iterator({ destroyOnReturn: false })) {
            let chunk = data as Buffer
            if (options.mode === "reset" && direction === "toServer") {
              const room = (options.after ?? 0) - toServer
              if (chunk.length >= room) {
                if (room > 0) await writeFlushed(to, chunk.subarray(0, room))
                toServer += Math.max(room, 0)
                client.resetAndDestroy()
                upstream.resetAndDestroy()
                return
              }
            }
            if (ended) continue // the direction was ended early: drop what follows
            const sent = direction === "toServer" ? toServer : toClient
            if (sent + chunk.length >= cut) {
              chunk = chunk.subarray(0, cut - sent)
              ended = true
            }
            if (options.mode === "slices") {
              for (let i = 0; i < chunk.length; i++) await writeFlushed(to, chunk.subarray(i, i + 1))
            } else if (options.mode === "stalls") {
              let offset = 0
              while (offset < chunk.length) {
                const piece = chunk.subarray(offset, offset + int(random, 1, chunk.length - offset))
                if (random() < 0.2) await sleep(int(random, 1, 30))
                await writeBackpressured(to, piece)
                offset += piece.length
              }
            } else if (chunk.length > 0) {
              await writeBackpressured(to, chunk)
            }
            if (direction === "toServer") toServer += chunk.length
            else toClient += chunk.length
            if (ended) to.end()
          }
          if (!ended) to.end()
        }
        const pump = (from: net.Socket, to: net.Socket, direction: "toServer" | "toClient") =>
          forward(from, to, direction).catch((error: NodeJS.ErrnoException) => {
            errors.push(`${direction}: ${error.code ?? error.message}`)
            from.destroy()
            to.destroy()
          })
        void pump(client, upstream, "toServer")
        void pump(upstream, client, "toClient")
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          sockets,
          proxy: {
            port: (server.address() as net.AddressInfo).port,
            accepted: () => accepted,
            forwarded: () => forwarded,
            errors
          }
        })))
    }),
    ({ server, sockets }) =>
      async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ proxy }) => proxy))
