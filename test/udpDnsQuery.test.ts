/**
 * examples/udp-dns-query.ts as a user runs it (a child process importing the
 * package by its name: run `npm run build` first), against a dnsmasq of our
 * own on a free port. Shared by both lines: each runs its own example.
 */
import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Netpoll from "../src/Netpoll.js"
import { runExample, startDnsmasq } from "./utils/processes.js"
import { layer } from "./utils/runners.js"

layer(Netpoll.layer)("examples", (it) => {
  describe("udp-dns-query", () => {
    it.effect("asks a local dnsmasq for an A record over UDP and prints the answer", () =>
      Effect.gen(function*() {
        const { port } = yield* startDnsmasq({ "example.test": "10.1.2.3" })
        const query = yield* runExample("udp-dns-query.ts", ["example.test", `127.0.0.1:${port}`])
        const closed = yield* query.closed
        expect(closed, query.output()).toEqual({ code: 0, signal: null })
        expect(query.stdout().toString()).toMatch(new RegExp(
          `^query example\\.test A -> 127\\.0\\.0\\.1:${port} \\(id \\d+, 30 bytes, attempt 1\\)\n` +
            `answer from 127\\.0\\.0\\.1:${port}: 1 record\\(s\\), NOERROR\n` +
            "example\\.test A 10\\.1\\.2\\.3 ttl 0\n$"
        ))
        expect(query.stderr()).toBe("")
      }))

    it.effect("exits with code 1 on NXDOMAIN, and with ConnectionRefused when nothing listens", () =>
      Effect.gen(function*() {
        const { port } = yield* startDnsmasq({})
        const missing = yield* runExample("udp-dns-query.ts", ["nothing.invalid", `127.0.0.1:${port}`])
        expect((yield* missing.closed).code).toBe(1)
        expect(missing.stdout().toString()).toContain("0 record(s), NXDOMAIN\n")
        expect(missing.stderr()).toContain("DnsError: nothing.invalid: NXDOMAIN")
        const nobody = yield* runExample("udp-dns-query.ts", ["example.test", "127.0.0.1:1"])
        expect((yield* nobody.closed).code).toBe(1)
        expect(nobody.stderr()).toContain("ConnectionRefused: recv 127.0.0.1:1: connection refused")
      }))
  })
})
