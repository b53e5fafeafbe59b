/**
 * This line's Socket and SocketServer (Effect 4: `effect/socket`), as the
 * public modules that both lines share (UnixStream, UnixListener) name them;
 * effect3/src/internal/sockets.ts is the `@effect/platform` side.
 */
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"

export type LineSocket = Socket.Socket
export type LineSocketServer = SocketServer.SocketServer
/** What building a SocketServer layer fails with. */
export type LineSocketServerError = SocketServer.SocketServerError

export { layerUnixSocket, makeSocket } from "./socket.js"
export { layerUnixSocketServer } from "./socketServer.js"
