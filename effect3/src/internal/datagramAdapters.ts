/**
 * The Effect 3 line's adapters of UdpSocket (re-exported by the public
 * UdpSocket module, which both lines share): none, since `@effect/platform`
 * 0.x has no datagram contract to back. src/internal/datagramAdapters.ts is
 * the Effect 4 line's `DatagramSocket` backend.
 */
export {}
