import type * as NetAddress from "effect/net/NetAddress"
import { expect, it } from "tstyche"
import type * as UnixStream from "../src/UnixStream.js"

it("Effect 4: a Unix address is effect/net's UnixPathAddress, in and out", () => {
  expect<UnixStream.Address>().type.toBe<NetAddress.UnixPathAddress>()
  expect<UnixStream.AddressInput>().type.toBe<string | NetAddress.UnixPathAddress>()
  expect<NetAddress.InetAddress>().type.not.toBeAssignableTo<UnixStream.AddressInput>()
})
