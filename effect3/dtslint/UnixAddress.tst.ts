import type * as SocketServer from "@effect/platform/SocketServer"
import { expect, it } from "tstyche"
import type * as UnixStream from "../src/UnixStream.js"

it("Effect 3: @effect/platform's UnixAddress out; a path or any { _tag: \"UnixAddress\", path } in", () => {
  expect<UnixStream.Address>().type.toBe<SocketServer.UnixAddress>()
  expect<UnixStream.AddressInput>().type.toBe<string | { readonly _tag: "UnixAddress"; readonly path: string }>()
  expect<SocketServer.TcpAddress>().type.not.toBeAssignableTo<UnixStream.AddressInput>()
})
