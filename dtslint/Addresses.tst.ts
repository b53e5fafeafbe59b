// Each line's address types (effect3/dtslint/Addresses.tst.ts is the Effect 3 one).
import type * as NetAddress from "effect/net/NetAddress"
import { expect, it } from "tstyche"
import type * as TcpStream from "../src/TcpStream.js"
import type * as UdpSocket from "../src/UdpSocket.js"
import type * as UnixStream from "../src/UnixStream.js"

it("Effect 4: a Unix address is effect/net's UnixPathAddress, in and out", () => {
  expect<UnixStream.Address>().type.toBe<NetAddress.UnixPathAddress>()
  expect<UnixStream.AddressInput>().type.toBe<string | NetAddress.UnixPathAddress>()
  expect<NetAddress.InetAddress>().type.not.toBeAssignableTo<UnixStream.AddressInput>()
})

it("Effect 4: a UDP address is effect/net's InetAddress, in and out", () => {
  expect<UdpSocket.Received["address"]>().type.toBe<NetAddress.InetAddress>()
  expect<UdpSocket.AddressInput>().type.toBe<TcpStream.AddressInput>()
})
