/**
 * The Effect 4 line's adapters of UdpSocket (re-exported by the public
 * UdpSocket module, which both lines share): a backend for `effect/socket`
 * `DatagramSocket`. effect3/src/internal/datagramAdapters.ts is the other
 * line's, which has none.
 */
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as DatagramSocket from "effect/socket/DatagramSocket"
import type * as Netpoll from "../Netpoll.js"
import type { AddressInput, BindOptions } from "../UdpSocket.js"
import * as backend from "./datagramSocket.js"

/**
 * Options of the `DatagramSocket` backend: the bind options, a peer to
 * `connect` to, and the contract's own (`receiveBuffer`, `onError`).
 *
 * @since 0.5.0
 * @category models
 */
export interface DatagramSocketOptions extends BindOptions {
  /** connect(2) after binding: the kernel filters senders and ICMP errors reach `onError`. */
  readonly connect?: AddressInput | undefined
  readonly receiveBuffer?: DatagramSocket.ReceiveBufferOptions | undefined
  readonly onError?: ((error: DatagramSocket.DatagramSocketError) => void) | undefined
}

/**
 * An `effect/socket` `DatagramSocket` over netpoll, as
 * `@effect/platform-node`'s `NodeDatagramSocket.make` is over `node:dgram`.
 * Each reader acquisition binds a socket at `address` in the reader's Scope,
 * and a fiber receives in batches of 16 (recvmmsg); errors map to the
 * contract's kinds (`MessageTooLarge`, `Unreachable`, `ConnectionRefused`,
 * `PermissionDenied`, `Unknown`). Source-specific multicast fails with
 * `DatagramSocketUnsupportedError`.
 *
 * @since 0.5.0
 * @category adapters
 */
export const makeDatagramSocket: (
  address: AddressInput,
  options?: DatagramSocketOptions
) => Effect.Effect<DatagramSocket.DatagramSocket, never, Netpoll.Netpoll> = backend.makeDatagramSocket

/**
 * `makeDatagramSocket` as a layer of the `DatagramSocket` service.
 *
 * @since 0.5.0
 * @category layers
 */
export const layerDatagramSocket: (
  address: AddressInput,
  options?: DatagramSocketOptions
) => Layer.Layer<DatagramSocket.DatagramSocket, never, Netpoll.Netpoll> = backend.layerDatagramSocket
