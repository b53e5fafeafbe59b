import * as errno from "../../../dist/core/errno.js"
import * as NetError from "../NetError.js"

/** Turns a negative errno (or the core's CLOSED) into its tagged error. */
export const fromCode = (code: number, syscall: string, address?: string): NetError.NetError =>
  errno.toError<NetError.NetError>(NetError, code, syscall, address)

export const closed = (syscall: string, address?: string): NetError.SocketClosed =>
  fromCode(errno.CLOSED, syscall, address) as NetError.SocketClosed
