/**
 * A Redis client in a page: RESP2 over a TcpStream, against a real redis-server.
 *
 *   npx tsx examples/redis-ping.ts [address] [count]
 *
 * The address comes from the first argument, else from $REDIS_ADDR, else
 * 127.0.0.1:6379. It sends PING, SET and GET, an INCR that Redis refuses (the
 * error reply is a typed failure, caught by its tag), then `count` INCRs (1000
 * by default) pipelined: every command into one BufWriter, flushed once, then
 * `count` replies read back through a BufReader (the RESP decoder in resp.ts
 * reads lines and exact lengths from it). It deletes its keys before it exits.
 */
import { Console, Data, Effect } from "effect"
import { BufReader, BufWriter, Netpoll, TcpStream } from "effect-netpoll"
import { makeClient, show } from "./resp.js"
import { runMain } from "./runMain.js"

const address = process.argv[2] ?? process.env.REDIS_ADDR ?? "127.0.0.1:6379"
const count = Number(process.argv[3] ?? 1000)

class UnexpectedReply extends Data.TaggedError("UnexpectedReply")<{ readonly message: string }> {}

const quote = (arg: string) => /^[\w:.-]+$/.test(arg) ? arg : JSON.stringify(arg)

const main = Effect.gen(function*() {
  if (!Number.isSafeInteger(count) || count < 1) {
    return yield* new UnexpectedReply({ message: `count must be a positive integer, not ${process.argv[3]}` })
  }
  const stream = yield* TcpStream.connect(address)
  yield* Console.log(`connected to ${yield* stream.peerAddr}`)
  const redis = makeClient(yield* BufReader.make(stream), yield* BufWriter.make(stream))

  const run = (...args: ReadonlyArray<string>) =>
    Effect.tap(redis.command(...args), (reply) => Console.log(`${args.map(quote).join(" ")} -> ${show(reply)}`))

  const greeting = "effect-netpoll:example:greeting"
  const counter = "effect-netpoll:example:counter"
  const missing = "effect-netpoll:example:missing"

  yield* run("PING")
  yield* run("SET", greeting, "hello from effect-netpoll")
  yield* run("GET", greeting)
  yield* run("GET", missing)
  // Redis refuses to increment a string: its error reply fails the effect with
  // RedisError, which is caught by its tag; the connection goes on.
  yield* run("INCR", greeting).pipe(
    Effect.catchTag("RedisError", (error) => Console.log(`INCR ${greeting} -> RedisError: ${error.message}`))
  )
  yield* run("SET", counter, "0")

  // Pipelining: every INCR in one write, then the replies, in order.
  yield* redis.send(Array.from({ length: count }, () => ["INCR", counter]))
  const replies = yield* Effect.replicateEffect(redis.readReply, count)
  const wrong = replies.findIndex((reply, i) => reply !== BigInt(i + 1))
  if (wrong >= 0) {
    return yield* new UnexpectedReply({ message: `INCR #${wrong + 1} replied ${show(replies[wrong]!)}` })
  }
  yield* Console.log(
    `${count} pipelined INCR ${counter} -> ${show(replies[0]!)} .. ${show(replies[count - 1]!)}, in order`
  )

  yield* run("MGET", greeting, counter, missing)
  yield* run("DEL", greeting, counter)
}).pipe(Effect.scoped, Effect.provide(Netpoll.layer))

runMain(main, { interruptIsExit: false })
