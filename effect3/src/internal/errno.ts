import * as errno from "../../../dist/core/errno.js"
import * as NetError from "../NetError.js"

type Ctor = new(fields: NetError.NetError.Fields) => NetError.NetError

const classes: Record<errno.ErrnoTag, Ctor> = NetError

export const closed = (syscall: string, address?: string): NetError.SocketClosed =>
  new NetError.SocketClosed(address === undefined ? { syscall } : { syscall, address })

/** Turns a negative errno (or the core's CLOSED) into its tagged error. */
export const fromCode = (code: number, syscall: string, address?: string): NetError.NetError =>
  code === errno.CLOSED ? closed(syscall, address) : new classes[errno.tagOf(code)](errno.fields(code, syscall, address))
