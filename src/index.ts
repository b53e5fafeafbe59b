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
