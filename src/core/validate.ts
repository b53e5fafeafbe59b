/**
 * Checks of what callers pass to the public functions, once for both Effect
 * lines, before any fd exists: each returns undefined, or the message of the
 * defect, naming the public option and what it accepts. They never throw,
 * whatever they are given (a Symbol, a Proxy whose traps throw, a
 * null-prototype object, a getter that throws).
 */
import * as util from "node:util"

/** What `field` gives for a property whose getter (or Proxy trap) throws. */
const unreadable: unique symbol = Symbol("effect-netpoll/unreadable")

/** Strings and texts of values longer than this are cut in messages: a 1 MiB argument makes no 1 MiB message. */
const SHOWN_LENGTH = 120

const cut = (text: string): string =>
  text.length <= SHOWN_LENGTH ? text : `${text.slice(0, SHOWN_LENGTH)}… (${text.length} characters)`

/**
 * A value as a message shows it: a string quoted, an object as `util.inspect`
 * shows its own properties (no getter, no `toString` runs), a Proxy as a Proxy
 * (no trap runs), long texts cut. Never throws.
 */
export const show = (value: unknown): string => {
  if (value === unreadable) return "a value that cannot be read (its getter throws)"
  if (typeof value === "string") {
    return value.length <= SHOWN_LENGTH
      ? JSON.stringify(value)
      : `${JSON.stringify(value.slice(0, SHOWN_LENGTH))}… (${value.length} characters)`
  }
  if ((typeof value === "object" && value !== null) || typeof value === "function") {
    // util.inspect would show a Proxy's target, as if the Proxy were that object.
    if (util.types.isProxy(value)) return `a Proxy (${typeof value})`
    try {
      return cut(util.inspect(value, {
        depth: 1,
        breakLength: Infinity,
        maxArrayLength: 8,
        maxStringLength: SHOWN_LENGTH,
        customInspect: false
      }))
    } catch {
      return `an unprintable ${typeof value}`
    }
  }
  // Numbers, bigints, booleans, symbols, null and undefined: String never throws on them.
  return String(value)
}

/**
 * A property of an options object or record (undefined for a non-object); a
 * sentinel that `show` names when reading it throws.
 */
export const field = (options: unknown, name: string): unknown => {
  if (typeof options !== "object" || options === null) return undefined
  try {
    return (options as Record<string, unknown>)[name]
  } catch {
    return unreadable
  }
}

/**
 * Whether `value` carries the type id `id` (as `Predicate.hasProperty` asks),
 * false for a value that throws when asked (a Proxy whose `has` trap throws).
 */
export const hasTypeId = (value: unknown, id: symbol): boolean => {
  if ((typeof value !== "object" || value === null) && typeof value !== "function") return false
  try {
    return id in (value as object)
  } catch {
    return false
  }
}

/** `value instanceof constructor`, false for a value that throws when asked (a Proxy's `getPrototypeOf` trap). */
export const isInstance = (value: unknown, constructor: abstract new(...args: never) => unknown): boolean => {
  try {
    return value instanceof constructor
  } catch {
    return false
  }
}

/** An options argument: an object, or left out. */
export const optionsObject = (options: unknown, what: string): string | undefined =>
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

/** `TcpStream.connect`'s options, and the same options of `layerSocket` (`what` names the function). */
export const connectOptions = (options: unknown, what = "connect"): string | undefined => {
  const keepAlive = field(options, "keepAlive")
  return optionsObject(options, what) ??
    optionalBoolean(options, what, "noDelay") ??
    (keepAlive === undefined || typeof keepAlive === "boolean" || isDelay(keepAlive)
      ? undefined
      : `${what}: keepAlive must be a boolean or a delay in milliseconds (a finite number, 0 or more), got ${
        show(keepAlive)
      }`)
}

/** `TcpListener.bind`'s options, and the same options of `layerSocketServer` (`what` names the function). */
export const bindOptions = (options: unknown, what = "bind"): string | undefined =>
  optionsObject(options, what) ??
    optionalBoolean(options, what, "reusePort") ??
    optionalBoolean(options, what, "ipv6Only") ??
    optionalBoolean(options, what, "noDelay") ??
    backlog(options, what)

/** The `backlog` option of a listener's `bind` (TCP or Unix) and of its `layerSocketServer`. */
export const backlog = (options: unknown, what: string): string | undefined => {
  const backlog = field(options, "backlog")
  return backlog === undefined ||
      (typeof backlog === "number" && Number.isSafeInteger(backlog) && backlog >= 0 && backlog <= 0x7fffffff)
    ? undefined
    : `${what}: backlog must be a whole number from 0 to 2147483647, got ${show(backlog)}`
}

/** `UnixListener.bind`'s options (a backlog), and those of its `layerSocketServer` (`what` names the function). */
export const unixBindOptions = (options: unknown, what = "bind"): string | undefined =>
  optionsObject(options, what) ?? backlog(options, what)

/**
 * `serve`'s `maxConnections`, and the same option of `layerSocketServer`
 * (`what` names the function); `optionsObject` checks the object itself. A RangeError
 * when it is not a positive integer, as the README says.
 */
export const maxConnections = (options: unknown, what = "serve"): string | undefined => {
  const max = field(options, "maxConnections")
  return max === undefined || (typeof max === "number" && Number.isSafeInteger(max) && max >= 1)
    ? undefined
    : `${what}: maxConnections must be a positive integer, got ${show(max)}`
}

/** `serve`'s handler. */
export const handler = (handler: unknown, stream = "TcpStream"): string | undefined =>
  typeof handler === "function"
    ? undefined
    : `serve: handler must be a function from a ${stream} to an Effect, got ${show(handler)}`

/** The message for a `stream` argument that is no TcpStream (one that `connect` or `accept` made). */
export const notStream = (what: string, stream: unknown): string =>
  `${what}: stream must be a TcpStream or UnixStream (from connect, a listener's accept or UnixStream.pair), got ${
    show(stream)
  }`

/** The message for a `listener` argument that is no TcpListener (or UnixListener: `kind`) that `bind` made. */
export const notListener = (what: string, listener: unknown, kind = "TcpListener"): string =>
  `${what}: listener must be a ${kind} (from ${kind}.bind), got ${show(listener)}`

/** The message for an `open` argument of `makeSocket` that is no Effect. */
export const notOpenEffect = (open: unknown): string =>
  `makeSocket: open must be an Effect that opens a TcpStream or UnixStream, got ${show(open)}`

/** The message for what `makeSocket`'s `open` gave that is no stream. */
export const notOpenedStream = (value: unknown): string =>
  `makeSocket: open must yield a TcpStream or UnixStream (from connect or a listener's accept), got ${show(value)}`

/** The message for an `openTimeout` that is no duration (each line decodes durations with its own `effect`). */
export const notOpenTimeout = (what: string, openTimeout: unknown): string =>
  `${what}: openTimeout must be a duration (milliseconds as a number, a string such as "5 seconds", or a Duration), got ${
    show(openTimeout)
  }`

/**
 * The `chunkSize` option of `toStream`, `toDuplex`, `makeSocket` and the Socket
 * layers; `optionsObject` checks the object itself. A RangeError when it is not a
 * positive integer, as the README says.
 */
export const chunkSize = (options: unknown, what: string): string | undefined => {
  const size = field(options, "chunkSize")
  return size === undefined || (typeof size === "number" && Number.isSafeInteger(size) && size > 0)
    ? undefined
    : `${what}: chunkSize must be a positive integer, got ${show(size)}`
}

/** `toDuplex`'s `allowHalfOpen`. */
export const allowHalfOpen = (options: unknown): string | undefined =>
  optionalBoolean(options, "toDuplex", "allowHalfOpen")

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

// Addresses: how an InvalidAddress shows the input, and why it was refused when
// the parser's own reason would mislead. Each line parses with its own parser
// (effect/net's Host on Effect 4, SocketAddr on Effect 3); the wording is one.

/** Longer strings are no address (a name has at most 253 characters): an error shows their start. */
const ADDRESS_LENGTH = 300

const cutAddress = (text: string): string =>
  text.length <= ADDRESS_LENGTH ? text : `${text.slice(0, SHOWN_LENGTH)}… (${text.length} characters)`

/** Text of a host or port of a record, as the caller gave it: strings bare, anything else shown. */
const part = (value: unknown): string =>
  typeof value === "string" ? cutAddress(value) : typeof value === "number" ? String(value) : show(value)

/**
 * The input as an `InvalidAddress` (or `HostNotFound`) shows it: a string as
 * given, a `{ host, port }` record as `"host:port"` (IPv6 hosts bracketed), a
 * very long string cut. Never throws.
 */
export const addressText = (input: unknown): string => {
  if (typeof input === "string") return cutAddress(input)
  if (typeof input !== "object" || input === null) return show(input)
  const [host, port] = [field(input, "host"), field(input, "port")]
  if (host === unreadable || port === unreadable) return show(input)
  const h = part(host)
  return `${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}:${part(port)}`
}

const PORT_RANGE = "a port is an integer from 0 to 65535"

/** Why a port written in a string is refused, when the parser would say it misleadingly. */
const portTextMistake = (text: string): string | undefined => {
  if (text === "") return "missing port"
  if (/^[+-]?\d+$/.test(text) && (text.startsWith("-") || Number(text) > 65535)) {
    return `port ${text} is out of range: ${PORT_RANGE}`
  }
  if (/^[+-]?\d*\.\d+$/.test(text)) return `port ${text} is not an integer: ${PORT_RANGE}`
  return undefined
}

/** Why a record's port is refused (a string one as in a "host:port" string: a parser may take it). */
const portMistake = (port: unknown): string | undefined => {
  if (port === undefined) return "missing port"
  if (typeof port === "string") return portTextMistake(port)
  if (typeof port !== "number") return `port must be a number (${PORT_RANGE}), got ${show(port)}`
  if (!Number.isInteger(port)) return `port ${port} is not an integer: ${PORT_RANGE}`
  return port < 0 || port > 65535 ? `port ${port} is out of range: ${PORT_RANGE}` : undefined
}

/** Why a record's host is refused. */
const hostMistake = (host: unknown): string | undefined =>
  host === undefined || host === ""
    ? "missing host"
    : typeof host !== "string"
    ? `host must be a string (an IP address or a name), got ${show(host)}`
    : undefined

/**
 * Why an address the line's parser refused was refused, for the common
 * mistakes whose parser reason would mislead (a URL read as an IPv6 address
 * without brackets, `-1` read as "not a number", `1.5` as "outside 0..65535",
 * a null-prototype host as something unprintable); undefined keeps the
 * parser's reason. Never throws.
 */
export const addressMistake = (input: unknown): string | undefined => {
  if (typeof input === "string") {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(input)) {
      return "a URL is not an address: expected \"host:port\" (no scheme, no path)"
    }
    if (input.startsWith("[")) {
      const end = input.indexOf("]")
      return end >= 0 && input[end + 1] === ":" ? portTextMistake(input.slice(end + 2)) : undefined
    }
    const colon = input.lastIndexOf(":")
    return colon < 0 ? undefined : portTextMistake(input.slice(colon + 1))
  }
  if (typeof input !== "object" || input === null) return undefined
  const host = field(input, "host")
  const port = field(input, "port")
  if (host === unreadable || port === unreadable) return "its host and port cannot be read (a getter throws)"
  const mistakes = [hostMistake(host), portMistake(port)].filter((mistake) => mistake !== undefined)
  return mistakes.length === 0 ? undefined : mistakes.join("; ")
}

// Vectored calls, read-to-end, and the buffered reader and writer.

const isWhole = (value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max

/** A second call on a BufReader or BufWriter while one runs. */
export const concurrentUse = (what: string, method: string): string =>
  `${what}.${method}: another call of this ${what} is running; a ${what} serves one fiber at a time`

/** The `bufs` of a vectored call: an array of Uint8Array. */
export const vector = (method: string, bufs: unknown): string | undefined => {
  const bad = `${method}: bufs must be an array of Uint8Array, got ${show(bufs)}`
  try {
    if (!Array.isArray(bufs)) return bad
    for (const buf of bufs) if (!(ArrayBuffer.isView(buf) && buf instanceof Uint8Array)) return bad
    return undefined
  } catch {
    return bad
  }
}

/** `readToEnd`'s and `readToString`'s options: `{ maxBytes }`, a whole number. */
export const maxBytes = (method: string, options: unknown): string | undefined => {
  const max = field(options, "maxBytes")
  return typeof options !== "object" || options === null
    ? `${method}: options must be an object with maxBytes, got ${show(options)}`
    : isWhole(max, 0)
    ? undefined
    : `${method}: maxBytes must be a whole number, 0 or more, got ${show(max)}`
}

/** A BufReader's or BufWriter's `capacity`. */
export const capacity = (method: string, options: unknown): string | undefined => {
  const size = field(options, "capacity")
  return optionsObject(options, method) ??
    (size === undefined || isWhole(size, 1, 2 ** 30)
      ? undefined
      : `${method}: capacity must be a whole number from 1 to 1073741824 (bytes), got ${show(size)}`)
}

/** `readLine`'s and `readUntil`'s `maxLength`: at most the reader's capacity. */
export const maxLength = (method: string, options: unknown, capacity: number): string | undefined => {
  const max = field(options, "maxLength")
  return optionsObject(options, method) ??
    (max === undefined || isWhole(max, 1, capacity)
      ? undefined
      : `${method}: maxLength must be a whole number from 1 to the reader's capacity (${capacity}), got ${show(max)}`)
}

/** `readUntil`'s delimiter: a byte, or a non-empty Uint8Array. */
export const delimiter = (method: string, value: unknown): string | undefined =>
  isWhole(value, 0, 255) || (ArrayBuffer.isView(value) && value instanceof Uint8Array && value.length > 0)
    ? undefined
    : `${method}: delimiter must be a byte (0 to 255) or a non-empty Uint8Array, got ${show(value)}`

/** `peek`'s count: at most the reader's capacity. */
export const peekLength = (n: unknown, capacity: number): string | undefined =>
  isWhole(n, 0, capacity)
    ? undefined
    : `BufReader.peek: n must be a whole number from 0 to the reader's capacity (${capacity}), got ${show(n)}`

/** A frame's length prefix: `prefix` 1, 2 or 4, `endian` "big" or "little". */
export const framePrefix = (method: string, options: unknown): string | undefined => {
  const prefix = field(options, "prefix")
  const endian = field(options, "endian")
  return typeof options !== "object" || options === null
    ? `${method}: options must be an object with prefix, got ${show(options)}`
    : prefix !== 1 && prefix !== 2 && prefix !== 4
    ? `${method}: prefix must be 1, 2 or 4 (bytes), got ${show(prefix)}`
    : endian === undefined || endian === "big" || endian === "little"
    ? undefined
    : `${method}: endian must be "big" or "little", got ${show(endian)}`
}

/** `readFrame`'s and `frames`' options: the prefix and `maxLength`. */
export const frameOptions = (method: string, options: unknown): string | undefined => {
  const max = field(options, "maxLength")
  return framePrefix(method, options) ??
    (isWhole(max, 0) ? undefined : `${method}: maxLength must be a whole number, 0 or more, got ${show(max)}`)
}

const hasMethods = (value: unknown, names: ReadonlyArray<string>): boolean =>
  typeof value === "object" && value !== null && names.every((name) => typeof field(value, name) === "function")

/** What `BufReader.make` reads from: an `Io.Reader`. */
export const reader = (method: string, value: unknown): string | undefined =>
  hasMethods(value, ["read", "readVectored", "readExact", "readToEnd", "readToString"])
    ? undefined
    : `${method}: reader must be an Io.Reader (such as a TcpStream), got ${show(value)}`

/** What `BufWriter.make` writes to: an `Io.Writer`. */
export const writer = (method: string, value: unknown): string | undefined =>
  hasMethods(value, ["write", "writeVectored", "writeAll", "writeAllVectored"])
    ? undefined
    : `${method}: writer must be an Io.Writer (such as a TcpStream), got ${show(value)}`

/** The message for a `reader` argument that is no BufReader. */
export const notBufReader = (what: string, value: unknown): string =>
  `${what}: reader must be a BufReader (from BufReader.make), got ${show(value)}`
