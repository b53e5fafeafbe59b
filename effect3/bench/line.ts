/**
 * The Effect line the shared bench files (effectHarness.ts, impl/netpoll.ts,
 * linked from bench/) are compiled for: here Effect 3 and effect-netpoll/effect3.
 */
import { Effect, Either } from "effect"
import { SocketAddr } from "effect-netpoll/effect3"

export { BufReader, BufWriter, Netpoll, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream } from "effect-netpoll/effect3"

/** What `loadedBy` checks this line loads. */
export const netpollSpecifier = "effect-netpoll/effect3"
export const effectMajor = 3

/** Runs `f` with the cause of a failure. */
export const tapCause = Effect.tapErrorCause

/** The udp client's destination, as this line's address. */
export const udpTarget = (port: number) => Either.getOrThrow(SocketAddr.parse({ host: "127.0.0.1", port }))
