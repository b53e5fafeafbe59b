import * as Effect from "effect/Effect"
import * as fs from "node:fs"

/** Open file descriptors of this process, from /proc/self/fd. */
export const openFds = (): number => fs.readdirSync("/proc/self/fd").length

/** What each open fd is (its /proc/self/fd link, e.g. "socket:[12345]"), by number. */
export const fdTargets = (): Map<number, string> => {
  const targets = new Map<number, string>()
  for (const name of fs.readdirSync("/proc/self/fd")) {
    try {
      targets.set(Number(name), fs.readlinkSync(`/proc/self/fd/${name}`))
    } catch {
      // Closed between the listing and the link: not open.
    }
  }
  return targets
}

/**
 * The fds that some epoll instance of this process watches: the `tfd` lines
 * of each epoll fd's /proc/self/fdinfo (the kernel's own list).
 */
export const epollWatched = (): Set<number> => {
  const watched = new Set<number>()
  for (const [fd, target] of fdTargets()) {
    if (target !== "anon_inode:[eventpoll]") continue
    try {
      for (const match of fs.readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").matchAll(/^tfd:\s+(\d+)/gm)) {
        watched.add(Number(match[1]))
      }
    } catch {
      // Closed between the listing and the read.
    }
  }
  return watched
}

/** Whether fd is open in this process. */
export const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`)

/**
 * Lets the event loop turn twice, so that libuv's close callbacks (which free
 * poll handles and close an epoll fd) have run before fds are counted.
 */
export const loopTurns = Effect.promise(() => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve))))
