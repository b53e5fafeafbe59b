/**
 * How a host name resolves, once for both Effect lines: getaddrinfo through
 * node:dns, every address, in the resolver's order.
 */
import * as dns from "node:dns"

/** One resolved address. */
export interface Resolved {
  readonly family: 4 | 6
  readonly address: string
}

/**
 * Looks `host` up; `done` gets every address, or the errno name of a failure
 * (undefined when the resolver gave none). Returns a canceller: getaddrinfo
 * runs on the thread pool and cannot be stopped, so a cancelled caller simply
 * stops listening for its answer.
 */
export const lookup = (
  host: string,
  done: (result: ReadonlyArray<Resolved> | { readonly errno: string | undefined }) => void
): () => void => {
  let live = true
  dns.lookup(host, { all: true, verbatim: true }, (err, addresses) => {
    if (!live) return
    if (err !== null || addresses.length === 0) {
      done({ errno: err?.code })
    } else {
      done(addresses.map((a) => ({ family: a.family === 6 ? 6 : 4, address: a.address })))
    }
  })
  return () => {
    live = false
  }
}
