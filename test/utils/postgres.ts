/**
 * A PostgreSQL server of a test's own, from Debian's packages
 * (scripts/test-servers.sh installs them): a fresh cluster made by `initdb` in
 * a temporary directory, served on a free loopback port, its Unix socket in
 * that directory too; stopped (SIGINT: fast shutdown) and removed when the
 * Scope closes. postgres refuses to run as root, so a root test runs it as the
 * `postgres` user the package creates.
 */
import * as ChildProcess from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Effect from "effect/Effect"
import { ChildError, findBinary, spawn, startServer, tempDir } from "./processes.js"

/** initdb on $PATH, else Debian's newest (the package keeps it in /usr/lib/postgresql/<major>/bin). */
const findInitdb = (): string | undefined => {
  const onPath = findBinary("initdb")
  if (onPath !== undefined) return onPath
  const lib = "/usr/lib/postgresql"
  const majors = fs.existsSync(lib) ? fs.readdirSync(lib).filter((major) => /^\d+$/.test(major)) : []
  return majors
    .sort((a, b) => Number(b) - Number(a))
    .map((major) => path.join(lib, major, "bin", "initdb"))
    .find((file) => fs.existsSync(file))
}

const postgresUser = (): { readonly uid: number; readonly gid: number } | undefined => {
  if (process.getuid?.() !== 0) return undefined
  try {
    const id = (flag: string) => Number(ChildProcess.execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim())
    return { uid: id("-u"), gid: id("-g") }
  } catch {
    return undefined
  }
}

export interface Postgres {
  readonly port: number
  /** A superuser connection URL (trust authentication, loopback only). */
  readonly url: string
}

export const startPostgres = Effect.gen(function*() {
  const initdb = findInitdb()
  if (initdb === undefined) {
    return yield* Effect.fail(new ChildError({ message: "PostgreSQL is not installed (scripts/test-servers.sh installs it)" }))
  }
  // Debian links initdb into /usr/local/bin or /usr/bin; the server binary sits next to its target.
  const bindir = path.dirname(fs.realpathSync(initdb))
  const user = postgresUser()
  if (process.getuid?.() === 0 && user === undefined) {
    return yield* Effect.fail(new ChildError({ message: "running as root and there is no postgres user to run postgres as" }))
  }
  const dir = yield* tempDir("effect-netpoll-postgres-")
  if (user !== undefined) fs.chownSync(dir, user.uid, user.gid)
  const data = path.join(dir, "data")
  const init = yield* spawn(
    path.join(bindir, "initdb"),
    ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
    { name: "initdb", cwd: dir, user }
  )
  const initialized = yield* init.closed
  if (initialized.code !== 0) {
    return yield* Effect.fail(new ChildError({ message: `initdb failed (${JSON.stringify(initialized)}):\n${init.output()}` }))
  }
  const { port } = yield* startServer((port) =>
    spawn(path.join(bindir, "postgres"), [
      "-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
      // A throwaway database: durability buys nothing here and costs the small box seconds.
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"
    ], { name: "postgres", cwd: dir, stopSignal: "SIGINT", user })
  )
  return { port, url: `postgres://postgres@127.0.0.1:${port}/postgres` } satisfies Postgres
})
