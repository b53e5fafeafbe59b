/**
 * An echo server on a Unix socket and a client talking to it, in one process.
 *
 *   npx tsx examples/unix-echo.ts [path]
 *
 * The server listens on `path` (default: a fresh file in a temporary
 * directory); the client connects, checks who the server is (the server checks
 * the client the same way, with peerCred), sends a few lines and reads each
 * echo back. Then the program exits by itself, and the socket file is gone:
 * the listener removes the file its bind created when its Scope closes.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Console, Effect } from "effect"
import { Netpoll, UnixListener, UnixStream } from "effect-netpoll"
import { runMain } from "./runMain.js"

const dir = process.argv[2] === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), "unix-echo-")) : undefined
const socketPath = process.argv[2] ?? path.join(dir!, "echo.sock")

const encoder = new TextEncoder()
const decoder = new TextDecoder()

// One fiber per connection: only processes of our own user are served.
const echo = (stream: UnixStream.UnixStream) =>
  Effect.gen(function*() {
    const peer = yield* stream.peerCred
    if (peer.uid !== process.getuid?.()) return yield* Console.log(`refused uid ${peer.uid}`)
    yield* Console.log(`server: client pid ${peer.pid === process.pid ? "(this process)" : peer.pid}, uid ${peer.uid}`)
    const buf = new Uint8Array(16 * 1024)
    let n: number
    while ((n = yield* stream.read(buf)) > 0) yield* stream.writeAll(buf.subarray(0, n))
  })

const client = Effect.scoped(Effect.gen(function*() {
  const stream = yield* UnixStream.connect(socketPath)
  yield* Console.log(`client: connected to ${(yield* stream.peerAddr).path}`)
  for (const line of ["hello", "over a Unix socket", "bye"]) {
    const bytes = encoder.encode(line)
    yield* stream.writeAll(bytes)
    const back = new Uint8Array(bytes.length)
    yield* stream.readExact(back)
    yield* Console.log(`client: echoed "${decoder.decode(back)}"`)
  }
}))

const main = Effect.gen(function*() {
  yield* Effect.scoped(Effect.gen(function*() {
    const listener = yield* UnixListener.bind(socketPath)
    yield* Console.log(`echo server listening on ${(yield* listener.localAddr).path}`)
    // The server runs until this Scope closes, right after the client is done.
    yield* Effect.forkScoped(UnixListener.serve(listener, echo))
    yield* client
  }))
  yield* Console.log(`socket file removed: ${!fs.existsSync(socketPath)}`)
  if (dir !== undefined) fs.rmdirSync(dir)
}).pipe(Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: false })
