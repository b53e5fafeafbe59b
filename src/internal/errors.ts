import * as NetError from "../NetError.js"
import * as core from "./core.js"

/** Turns a negative errno (or the core's CLOSED) into its tagged error. */
export const fromCode = (code: number, syscall: string, address?: string): NetError.NetError =>
  core.errno.toError<NetError.NetError>(NetError, code, syscall, address)

export const closed = (syscall: string, address?: string): NetError.SocketClosed =>
  fromCode(core.errno.CLOSED, syscall, address) as NetError.SocketClosed
