/**
 * A DNS lookup by hand over UDP: builds an A-record query (dns.ts), sends it
 * with a UdpSocket, and prints the answer.
 *
 *   npx tsx examples/udp-dns-query.ts [name] [server]
 *
 * The name defaults to example.test; the server comes from the second
 * argument, else $DNS_SERVER, else 127.0.0.1:53. UDP may lose the query or
 * the reply: it waits 1 second, three times, asking again each time (a wait
 * that times out is an interrupted `recvFrom`, which has consumed nothing). A
 * reply is taken only from the server, with the query's id; a refusal from an
 * empty port is `ConnectionRefused`, since the socket is connected.
 */
import { Console, Data, Effect } from "effect"
import { Netpoll, UdpSocket } from "effect-netpoll/effect3"
import { decodeReply, encodeQuery, rcodeName, types } from "./dns.js"
import { runMain } from "./runMain.js"

const name = process.argv[2] ?? "example.test"
const server = process.argv[3] ?? process.env.DNS_SERVER ?? "127.0.0.1:53"

class DnsError extends Data.TaggedError("DnsError")<{ readonly message: string }> {}

const main = Effect.gen(function*() {
  const socket = yield* UdpSocket.bind("0.0.0.0:0")
  // Connected: the kernel drops datagrams from anyone else, and reports an ICMP refusal.
  yield* socket.connect(server)
  const peer = yield* socket.peerAddr
  const id = Math.floor(Math.random() * 0x10000)
  const query = encodeQuery(id, name)
  const buf = new Uint8Array(1232)
  for (let attempt = 1; attempt <= 3; attempt++) {
    yield* socket.send(query)
    yield* Console.log(`query ${name} A -> ${peer} (id ${id}, ${query.length} bytes, attempt ${attempt})`)
    const received = yield* Effect.timeoutOption(socket.recv(buf), "1 second")
    if (received._tag === "None") continue
    const { bytes, truncated } = received.value
    if (truncated) return yield* new DnsError({ message: `a reply over ${buf.length} bytes` })
    const reply = decodeReply(buf.subarray(0, bytes))
    if (reply.id !== id) continue
    yield* Console.log(`answer from ${peer}: ${reply.answers.length} record(s), ${rcodeName(reply.rcode)}`)
    if (reply.rcode !== 0) return yield* new DnsError({ message: `${name}: ${rcodeName(reply.rcode)}` })
    for (const answer of reply.answers) {
      yield* Console.log(`${answer.name} ${types[answer.type] ?? answer.type} ${answer.data} ttl ${answer.ttl}`)
    }
    return
  }
  return yield* new DnsError({ message: `no reply from ${peer} after 3 attempts` })
})

runMain(Effect.provide(Effect.scoped(main), Netpoll.layer), { interruptIsExit: false })
