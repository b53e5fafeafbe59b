import type * as SocketServer from "@effect/platform/SocketServer"
import { expect, it } from "tstyche"
import type * as SocketAddr from "../src/SocketAddr.js"
import type * as UdpSocket from "../src/UdpSocket.js"
import type * as UnixStream from "../src/UnixStream.js"

it("Effect 3: @effect/platform's UnixAddress out; a path or any { _tag: \"UnixAddress\", path } in", () => {
  expect<UnixStream.Address>().type.toBe<SocketServer.UnixAddress>()
  expect<UnixStream.AddressInput>().type.toBe<string | { readonly _tag: "UnixAddress"; readonly path: string }>()
  expect<SocketServer.TcpAddress>().type.not.toBeAssignableTo<UnixStream.AddressInput>()
})

it("Effect 3: a UDP address is the line's SocketAddr, in and out", () => {
  expect<UdpSocket.Received["address"]>().type.toBe<SocketAddr.SocketAddr>()
  expect<UdpSocket.AddressInput>().type.toBe<SocketAddr.Input>()
})
