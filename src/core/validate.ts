/**
 * Checks of what callers pass to the public functions, once for both Effect
 * lines, before any fd exists: each returns undefined, or the message of the
 * defect, naming the public option and what it accepts.
 */

/** A value as a message shows it; never throws (a Symbol, a Proxy, a null-prototype object). */
const show = (value: unknown): string => {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

const field = (options: unknown, name: string): unknown => {
  if (typeof options !== "object" || options === null) return undefined
  try {
    return (options as Record<string, unknown>)[name]
  } catch {
    return Symbol.for("effect-netpoll/unreadable")
  }
}

const optionsObject = (options: unknown, what: string): string | undefined =>
  options === undefined || (typeof options === "object" && options !== null)
    ? undefined
    : `${what} options must be an object, got ${show(options)}`

const optionalBoolean = (options: unknown, what: string, name: string): string | undefined => {
  const value = field(options, name)
  return value === undefined || typeof value === "boolean"
    ? undefined
    : `${what}: ${name} must be a boolean, got ${show(value)}`
}

/** A delay in milliseconds: a finite number, 0 or more. */
const isDelay = (value: unknown): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= 0

/** `TcpStream.connect`'s options (and the Socket layers' connect options). */
export const connectOptions = (options: unknown): string | undefined => {
  const keepAlive = field(options, "keepAlive")
  return optionsObject(options, "connect") ??
    optionalBoolean(options, "connect", "noDelay") ??
    (keepAlive === undefined || typeof keepAlive === "boolean" || isDelay(keepAlive)
      ? undefined
      : `connect: keepAlive must be a boolean or a delay in milliseconds (a finite number, 0 or more), got ${
        show(keepAlive)
      }`)
}

/** `TcpListener.bind`'s options. */
export const bindOptions = (options: unknown): string | undefined => {
  const backlog = field(options, "backlog")
  return optionsObject(options, "bind") ??
    optionalBoolean(options, "bind", "reusePort") ??
    optionalBoolean(options, "bind", "ipv6Only") ??
    optionalBoolean(options, "bind", "noDelay") ??
    (backlog === undefined ||
        (typeof backlog === "number" && Number.isSafeInteger(backlog) && backlog >= 0 && backlog <= 0x7fffffff)
      ? undefined
      : `bind: backlog must be a whole number from 0 to 2147483647, got ${show(backlog)}`)
}

/** The message for a `buf` of `read`, `write`, `readExact` or `writeAll` that is no Uint8Array (`stream.isBytes`). */
export const notBytes = (method: string, buf: unknown): string => `${method}: buf must be a Uint8Array, got ${show(buf)}`

/** `shutdown`'s direction. */
export const shutdownHow = (how: unknown): string | undefined =>
  how === "read" || how === "write" || how === "both"
    ? undefined
    : `shutdown: how must be "read", "write" or "both", got ${show(how)}`

/** `setNoDelay`'s switch. */
export const noDelay = (on: unknown): string | undefined =>
  typeof on === "boolean" ? undefined : `setNoDelay: on must be a boolean, got ${show(on)}`

/** `setKeepAlive`'s switch and initial delay. */
export const keepAlive = (on: unknown, initialDelayMillis: unknown): string | undefined =>
  typeof on !== "boolean"
    ? `setKeepAlive: on must be a boolean, got ${show(on)}`
    : initialDelayMillis === undefined || isDelay(initialDelayMillis)
    ? undefined
    : `setKeepAlive: initialDelayMillis must be a delay in milliseconds (a finite number, 0 or more), got ${
      show(initialDelayMillis)
    }`
