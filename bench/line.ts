/**
 * The Effect line the shared bench files (effectHarness.ts, impl/netpoll.ts) are
 * compiled for: here Effect 4 and the root package. effect3/bench/line.ts is the
 * Effect 3 side; effect3/bench links to the shared files.
 */
import { Effect } from "effect"
import * as NetAddress from "effect/net/NetAddress"

export { BufReader, BufWriter, Netpoll, TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream } from "effect-netpoll"

/** What `loadedBy` checks this line loads. */
export const netpollSpecifier = "effect-netpoll"
export const effectMajor = 4

/** Runs `f` with the cause of a failure (Effect 3 calls it tapErrorCause). */
export const tapCause = Effect.tapCause

/** The udp client's destination, as this line's address. */
export const udpTarget = (port: number) => NetAddress.inetAddressFromIpStringUnsafe("127.0.0.1", port)
