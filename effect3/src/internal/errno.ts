import * as os from "node:os"
import * as util from "node:util"
import * as NetError from "../NetError.js"

type Ctor = new(fields: NetError.NetError.Fields) => NetError.NetError

const tags: Record<string, Ctor> = {
  ECONNREFUSED: NetError.ConnectionRefused,
  ECONNRESET: NetError.ConnectionReset,
  ECONNABORTED: NetError.ConnectionAborted,
  EPIPE: NetError.BrokenPipe,
  ETIMEDOUT: NetError.TimedOut,
  EADDRINUSE: NetError.AddressInUse,
  EADDRNOTAVAIL: NetError.AddressNotAvailable,
  ENETUNREACH: NetError.NetworkUnreachable,
  EHOSTUNREACH: NetError.HostUnreachable
}

/** Errno numbers by name, positive, as in `os.constants.errno`. */
export const constants: Readonly<Record<string, number>> = os.constants.errno

export const { EAGAIN, EINPROGRESS, ENOTCONN, EMFILE, ENFILE, ENOBUFS, ENOMEM, ECONNABORTED } = os.constants.errno

/** Accept errors after which accepting again later may succeed. */
export const isTransientAccept = (code: number): boolean =>
  code === -EMFILE || code === -ENFILE || code === -ENOBUFS || code === -ENOMEM || code === -ECONNABORTED

/** Turns a negative errno returned by the addon into its tagged error. */
export const fromErrno = (code: number, syscall: string, address?: string): NetError.NetError => {
  const errno = util.getSystemErrorName(code < 0 ? code : -code)
  const Tag = tags[errno] ?? NetError.SystemError
  return new Tag(address === undefined ? { syscall, errno } : { syscall, errno, address })
}

export const closed = (syscall: string, address?: string): NetError.SocketClosed =>
  new NetError.SocketClosed(address === undefined ? { syscall } : { syscall, address })
