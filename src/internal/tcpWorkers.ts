/**
 * `serveWorkers` and `launchWorker`: one address served from several worker
 * threads, the core's rules as effects. Shared by both Effect lines: the
 * Effect 3 line compiles this same file against its own `effect`.
 */
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import type * as NetError from "../NetError.js"
import { Netpoll } from "../Netpoll.js"
import type * as TcpListener from "../TcpListener.js"
import type * as TcpStream from "../TcpStream.js"
import * as address from "./address.js"
import { listener as listenerCore, stream as streamCore, validate, workers as core } from "./core.js"
import * as errors from "./errors.js"
import * as netpoll from "./netpoll.js"
import * as runtime from "./runtime.js"
import * as tcpListener from "./tcpListener.js"
import { badInput } from "./tcpStream.js"

/** One worker thread from its start to its exit, as states a fiber can wait for. */
class Thread {
  listening = false
  bindFailed: core.Report & { readonly _tag: "BindFailed" } | undefined = undefined
  error: unknown = undefined
  exitCode: number | undefined = undefined
  /** When it reported that it listens: how long it served decides its replacement's backoff. */
  listenedAt = 0
  /** Its id, kept: the Worker's own reads -1 once the thread has ended. */
  readonly threadId: number
  private changed: (() => void) | undefined = undefined

  constructor(readonly worker: Worker) {
    this.threadId = worker.threadId
    worker.on("message", (message) => {
      if (!core.isReport(message)) return
      if (message._tag === "Listening") {
        this.listening = true
        this.listenedAt = Date.now()
      } else {
        this.bindFailed = message
      }
      this.notify()
    })
    worker.on("error", (error) => {
      this.error = error
    })
    worker.on("exit", (code) => {
      this.exitCode = code
      this.notify()
    })
  }

  get ended(): boolean {
    return this.exitCode !== undefined
  }

  /** Waits until `done` holds; it is checked again after each event of the thread. */
  until(done: (thread: Thread) => boolean): Effect.Effect<void> {
    return Effect.suspend(() =>
      done(this) ? Effect.void : runtime.async<void>((resume) => {
        this.changed = () => {
          if (!done(this)) return
          this.changed = undefined
          resume(Effect.void)
        }
        return Effect.sync(() => {
          this.changed = undefined
        })
      })
    )
  }

  private notify(): void {
    this.changed?.()
  }

  /** How it ended, for a message: its error, or its exit code. */
  get how(): string {
    return this.error !== undefined
      ? `threw ${validate.show(this.error instanceof Error ? this.error.message : this.error)}`
      : `exited with code ${this.exitCode}`
  }
}

/** The running workers, by slot, for `threadIds`, and how many were replaced. */
class Pool implements TcpListener.Workers {
  readonly live = new Map<number, Thread>()
  /** Every worker started and not yet ended, listening or not: what `shutdown` stops. */
  readonly threads = new Set<Thread>()
  /** Set by `shutdown`: a slot whose worker ends no longer replaces it. */
  stopping = false
  replaced = 0

  constructor(
    readonly address: address.Address,
    readonly url: URL,
    readonly config: core.Config,
    /** The public function, as its defects name it. */
    readonly what: string
  ) {}

  get threadIds(): Effect.Effect<ReadonlyArray<number>> {
    return Effect.sync(() => Array.from(this.live.values()).filter((thread) => !thread.ended).map((thread) => thread.threadId))
  }

  get restarts(): Effect.Effect<number> {
    return Effect.sync(() => this.replaced)
  }

  /** A worker started, stopped when the Scope closes: asked first, terminated after the grace. */
  readonly spawn: Effect.Effect<Thread, never, Scope.Scope> = Effect.acquireRelease(
    Effect.suspend(() => {
      try {
        const thread = new Thread(new Worker(this.url, { workerData: core.workerData(this.config) }))
        this.threads.add(thread)
        thread.worker.once("exit", () => this.threads.delete(thread))
        return Effect.succeed(thread)
      } catch (error) {
        return Effect.die(new TypeError(core.notStarted(this.what, this.url, error)))
      }
    }),
    (thread) => stop(thread)
  )

  /**
   * Stops every worker at once (each is given the grace period in parallel,
   * not one after another) and keeps the slots from replacing them: what the
   * Scope's close, or a failed start, runs first.
   */
  readonly shutdown: Effect.Effect<void> = Effect.suspend(() => {
    this.stopping = true
    return Effect.forEach(Array.from(this.threads), stop, { concurrency: "unbounded", discard: true })
  })

  /** What a worker that ended before it listened means to `makeWorkers`: its bind error, or a defect. */
  endedEarly(thread: Thread): Effect.Effect<never, NetError.NetError> {
    const failed = thread.bindFailed
    return failed !== undefined
      ? Effect.fail(errors.fromCode(failed.code, failed.syscall, this.config.address))
      : Effect.die(new Error(core.endedEarly(this.what, this.url, thread.how)))
  }

  /**
   * One slot: its first worker (whose start `started` reports), then each
   * replacement after a worker ends, until the slot's fiber is interrupted.
   */
  slot(index: number, started: Deferred.Deferred<void, NetError.NetError>): Effect.Effect<never> {
    const incarnation = (first: boolean, delayMillis: number | undefined): Effect.Effect<never> =>
      Effect.flatMap(
        Effect.scoped(Effect.flatMap(this.spawn, (thread) =>
          Effect.flatMap(thread.until((t) => t.listening || t.bindFailed !== undefined || t.ended), () => {
            if (!thread.listening) {
              return first
                ? Effect.andThen(Deferred.complete(started, this.endedEarly(thread)), Effect.never)
                : Effect.as(ended(this, thread, "worker thread ended before it listened; starting another"), false)
            }
            this.live.set(index, thread)
            const served = first ? Deferred.succeed(started, undefined) : Effect.void
            return Effect.andThen(served, thread.until((t) => t.ended)).pipe(
              Effect.ensuring(Effect.sync(() => {
                if (this.live.get(index) === thread) this.live.delete(index)
              })),
              Effect.andThen(ended(this, thread, "worker thread ended; starting another")),
              Effect.map(() => Date.now() - thread.listenedAt >= core.HEALTHY_MILLIS)
            )
          }))),
        (healthy) => {
          if (this.stopping) return Effect.never
          this.replaced++
          const next = healthy ? undefined : listenerCore.nextBackoffMillis(delayMillis)
          const restart = incarnation(false, next)
          return next === undefined ? restart : Effect.andThen(Effect.sleep(Duration.millis(next)), restart)
        }
      )
    return incarnation(true, undefined)
  }
}

/** Logs a worker's end (read when it is logged: the thread has ended by then), unless the pool stops it. */
const ended = (pool: Pool, thread: Thread, message: string): Effect.Effect<void> =>
  Effect.suspend(() =>
    pool.stopping
      ? Effect.void
      : Effect.logError(message).pipe(Effect.annotateLogs({ threadId: thread.threadId, how: thread.how }))
  )

/** Asks a worker to stop, waits for its exit for the grace period, then terminates it. */
const stop = (thread: Thread): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (thread.ended) return Effect.void
    thread.worker.postMessage(core.STOP)
    return Effect.flatMap(
      Effect.timeoutOption(thread.until((t) => t.ended), Duration.millis(core.STOP_GRACE_MILLIS)),
      () => thread.ended ? Effect.void : Effect.andThen(
        Effect.promise(() => thread.worker.terminate()),
        thread.until((t) => t.ended)
      )
    )
  })

/** Holds the port: the first of the input's addresses that binds. */
const reserve = (
  input: address.Input
): Effect.Effect<{ readonly address: address.Address }, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.flatMap(address.resolve(input), (addrs) =>
    Effect.flatMap(Netpoll, (service) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          let error: NetError.NetError = errors.closed("bind")
          for (const addr of addrs) {
            const held = core.reserve(netpoll.fromService(service), address.family(addr), address.host(addr), addr.port)
            if ("fd" in held) {
              const local = streamCore.address(held, "getsockname")
              if (typeof local !== "number") return Effect.succeed({ pollable: held, address: address.fromNative(local) })
              held.close()
              error = errors.fromCode(local, "getsockname", String(addr))
            } else {
              error = errors.fromCode(held.code, held.syscall, String(addr))
            }
          }
          return Effect.fail(error)
        }),
        (held) => netpoll.close(held.pollable)
      )))

export const makeWorkers = (
  input: address.Input,
  options: TcpListener.WorkersOptions,
  what = "makeWorkers"
): Effect.Effect<TcpListener.Workers, NetError.NetError, Netpoll | Scope.Scope> =>
  Effect.suspend(() => {
    const bad = badInput(core.options(options, what))
    if (bad !== undefined) return bad
    return Effect.flatMap(reserve(input), ({ address: bound }) => {
      const config: core.Config = {
        address: String(bound),
        backlog: options.backlog,
        ipv6Only: options.ipv6Only,
        noDelay: options.noDelay,
        maxConnections: options.maxConnections
      }
      const pool = new Pool(bound, core.workerUrl(options.worker), config, what)
      const threads = options.threads ?? core.defaultThreads()
      // A slot that dies (its worker could not even be constructed) fails its start, which would wait forever.
      const slot = (index: number, started: Deferred.Deferred<void, NetError.NetError>) =>
        Effect.onError(pool.slot(index, started), (cause) => Deferred.failCause(started, cause))
      return Effect.forEach(
        Array.from({ length: threads }, (_, index) => index),
        (index) =>
          Effect.flatMap(Deferred.make<void, NetError.NetError>(), (started) =>
            Effect.andThen(Effect.forkScoped(slot(index, started)), Deferred.await(started))),
        { concurrency: "unbounded", discard: true }
      ).pipe(
        // Added after the slots' fibers, so it runs before their interruption: every worker stops at once.
        Effect.tap(() => Effect.addFinalizer(() => pool.shutdown)),
        // A failed start stops the workers that did start: nothing serves the address after the failure.
        Effect.onError(() => pool.shutdown),
        Effect.as(pool)
      )
    })
  })

export const serveWorkers = (
  input: address.Input,
  options: TcpListener.WorkersOptions
): Effect.Effect<never, NetError.NetError, Netpoll> =>
  Effect.scoped(Effect.andThen(makeWorkers(input, options, "serveWorkers"), Effect.never))

/**
 * Listens for the main thread's STOP from now until the Scope closes, so that
 * a STOP sent while the worker binds is not missed; `wait` waits for it. The
 * port is unreferenced meanwhile (it never keeps the thread alive by itself)
 * and referenced again at the end if the module has listeners of its own.
 */
const stopSignal: Effect.Effect<{ readonly wait: Effect.Effect<void> }, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => {
    const port = parentPort!
    let received = false
    let resume: (() => void) | undefined
    const onMessage = (message: unknown) => {
      if (message !== core.STOP) return
      received = true
      resume?.()
    }
    port.on("message", onMessage)
    port.unref()
    const wait = Effect.suspend(() =>
      received ? Effect.void : runtime.async<void>((done) => {
        resume = () => done(Effect.void)
        return Effect.sync(() => {
          resume = undefined
        })
      })
    )
    return { port, onMessage, wait }
  }),
  ({ onMessage, port }) =>
    Effect.sync(() => {
      port.off("message", onMessage)
      if (port.listenerCount("message") > 0) port.ref()
    })
)

export const launchWorker = <E, R>(
  handler: (stream: TcpStream.TcpStream) => Effect.Effect<void, E, R>
): Effect.Effect<void, NetError.NetError, Netpoll | Exclude<R, Scope.Scope>> =>
  Effect.suspend(() => {
    const bad = badInput(core.handler(handler))
    if (bad !== undefined) return bad
    const config = isMainThread || parentPort === null ? undefined : core.configOf(workerData)
    if (config === undefined) return Effect.die(new TypeError(core.notInWorker()))
    const report = (message: core.Report) => Effect.sync(() => parentPort!.postMessage(message))
    const served = Effect.flatMap(stopSignal, (stop) => Effect.flatMap(
      tcpListener.bind(config.address, {
        backlog: config.backlog,
        ipv6Only: config.ipv6Only,
        noDelay: config.noDelay,
        reusePort: true
      }).pipe(Effect.tapError((error) =>
        report(core.bindFailed(core.codeOf(error.errno), error.syscall ?? "bind"))
      )),
      (listener) =>
        Effect.andThen(
          report(core.listening),
          Effect.raceFirst(
            tcpListener.serve(listener, handler, { maxConnections: config.maxConnections }),
            stop.wait
          )
        )
    ))
    return Effect.scoped(served)
  })
