/**
 * This line's Socket and SocketServer (Effect 3: `@effect/platform`), as the
 * public modules that both lines share (UnixStream, UnixListener) name them;
 * src/internal/sockets.ts is the `effect/socket` side.
 */
import type * as Socket from "@effect/platform/Socket"
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as NetError from "../NetError.js"

export type LineSocket = Socket.Socket
export type LineSocketServer = SocketServer.SocketServer
/** What building a SocketServer layer fails with: the bind's NetError, as `TcpListener.layerSocketServer` does here. */
export type LineSocketServerError = NetError.NetError

export { layerUnixSocket, makeSocket } from "./platformSocket.js"
export { layerUnixSocketServer } from "./platformSocketServer.js"
