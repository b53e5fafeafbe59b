/**
 * @since 0.4.0
 */
export * as BufReader from "./BufReader.js"

/**
 * @since 0.4.0
 */
export * as BufWriter from "./BufWriter.js"

/**
 * @since 0.4.0
 */
export * as Io from "./Io.js"

/**
 * @since 0.1.0
 */
export * as NetError from "./NetError.js"

/**
 * @since 0.1.0
 */
export * as Netpoll from "./Netpoll.js"

/**
 * @since 0.1.0
 */
export * as TcpListener from "./TcpListener.js"

/**
 * @since 0.1.0
 */
export * as TcpStream from "./TcpStream.js"
