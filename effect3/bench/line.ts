/**
 * The Effect line the shared bench files (effectHarness.ts, impl/netpoll.ts,
 * linked from bench/) are compiled for: here Effect 3 and effect-netpoll/effect3.
 */
import { Effect } from "effect"

export { BufReader, BufWriter, Netpoll, TcpListener, TcpStream, UnixListener, UnixStream } from "effect-netpoll/effect3"

/** What `loadedBy` checks this line loads. */
export const netpollSpecifier = "effect-netpoll/effect3"
export const effectMajor = 3

/** Runs `f` with the cause of a failure. */
export const tapCause = Effect.tapErrorCause
