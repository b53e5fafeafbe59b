import * as fs from "node:fs"

/** Open file descriptors of this process, from /proc/self/fd. */
export const openFds = (): number => fs.readdirSync("/proc/self/fd").length

/** Whether fd is open in this process. */
export const isOpen = (fd: number): boolean => fs.existsSync(`/proc/self/fd/${fd}`)
