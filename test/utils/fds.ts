import * as Effect from "effect/Effect"
import * as fs from "node:fs"

/** Open file descriptors of this process, from /proc/self/fd. */
export const openFds = (): number => fs.readdirSync("/proc/self/fd").length

/** Whether fd is open in this process. */
export const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`)

/**
 * Lets the event loop turn twice, so that libuv's close callbacks (which free
 * poll handles and close an epoll fd) have run before fds are counted.
 */
export const loopTurns = Effect.promise(() => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve))))
