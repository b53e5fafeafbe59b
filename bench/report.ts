/**
 * From samples to what is printed: one metric per scenario, and a markdown table of medians,
 * spreads, ratios and CPU costs.
 */
import type { ClientReport, ImplementationName, Params, Scenario, ServerReport } from "./protocol.js"
import { measures, nodeSocketOf, operations, variantsOf } from "./protocol.js"

export type Sample =
  & {
    readonly scenario: Scenario
    readonly implementation: ImplementationName
    /** The client variant, for the implementations a scenario measures in several (see `variants`). */
    readonly variant?: string
    readonly repetition: number
    /** Wall time of the whole measurement, worker start-up included. */
    readonly wallSeconds: number
  }
  & (
    | { readonly ok: true; readonly client?: ClientReport; readonly server: ServerReport }
    | { readonly ok: false; readonly error: string }
  )

type Measured = Extract<Sample, { ok: true }>

export interface Metric {
  readonly unit: string
  readonly value: (s: Measured) => number
  readonly cpuUnit?: string
  /** CPU per unit of work for one side. */
  readonly cpu?: (cpu: { user: number; system: number }) => number
  readonly extra?: { readonly name: string; readonly value: (s: Measured) => number }
}

const seconds = (s: Measured) => s.client!.elapsedNs / 1e9
const cpuMicros = (cpu: { user: number; system: number }) => cpu.user + cpu.system

export const metric = (scenario: Scenario, params: Params): Metric => {
  const ops = operations(scenario, params)
  switch (scenario) {
    case "pingpong":
    case "unix-pingpong":
    case "many":
      return { unit: "round trips/s", value: (s) => ops / seconds(s), cpuUnit: "µs/round trip", cpu: (c) => cpuMicros(c) / ops }
    case "bulk":
      return {
        unit: "GB/s",
        value: (s) => ops / 1e9 / seconds(s),
        cpuUnit: "s/GB",
        cpu: (c) => cpuMicros(c) / 1e6 / (ops / 1e9)
      }
    case "pipeline":
      return { unit: "commands/s", value: (s) => ops / seconds(s), cpuUnit: "µs/command", cpu: (c) => cpuMicros(c) / ops }
    case "udp":
      return {
        unit: "packets/s",
        value: (s) => ops / seconds(s),
        cpuUnit: "µs/packet",
        cpu: (c) => cpuMicros(c) / ops,
        // The rest was dropped (the receiver's buffer was full): UDP has no flow control.
        extra: { name: "delivered %", value: (s) => (100 * s.server.bytes) / ops }
      }
    case "accept":
      return { unit: "connections/s", value: (s) => ops / seconds(s), cpuUnit: "µs/connection", cpu: (c) => cpuMicros(c) / ops }
    case "idle":
      return {
        unit: "RSS bytes/connection",
        value: (s) => (s.server.memory!.rssAfter - s.server.memory!.rssBefore) / ops,
        extra: {
          name: "JS heap bytes/connection",
          value: (s) => (s.server.memory!.heapAfter - s.server.memory!.heapBefore) / ops
        }
      }
  }
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export const fmt = (x: number) => Number(x.toPrecision(3)).toLocaleString("en-US", { maximumFractionDigits: 3 })
const spread = (xs: ReadonlyArray<number>) =>
  xs.length === 1 ? fmt(xs[0]!) : `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`

export const table = (
  scenario: Scenario,
  params: Params,
  implementations: ReadonlyArray<ImplementationName>,
  samples: ReadonlyArray<Sample>,
  labels: Partial<Record<ImplementationName, string>> = {}
): string => {
  const m = metric(scenario, params)
  /** One row per implementation and client variant; a reference row is an implementation's first. */
  interface Row {
    readonly implementation: ImplementationName
    readonly variant: string | undefined
  }
  const rows: ReadonlyArray<Row> = implementations.filter((implementation) => measures(scenario, implementation))
    .flatMap((implementation) => variantsOf(scenario, implementation).map((variant) => ({ implementation, variant })))
  const isRow = (row: Row) => (s: Sample) => s.implementation === row.implementation && s.variant === row.variant
  const okSamples = (row: Row) => samples.filter((s): s is Measured => isRow(row)(s) && s.ok)
  const medianOf = (row: Row) => {
    const ok = okSamples(row)
    return ok.length > 0 ? median(ok.map(m.value)) : undefined
  }
  const ratio = (row: Row, reference: ImplementationName | undefined) => {
    if (reference === undefined || !implementations.includes(reference)) return "–"
    const referenceRow = { implementation: reference, variant: variantsOf(scenario, reference)[0] }
    if (row.implementation === referenceRow.implementation && row.variant === referenceRow.variant) return "–"
    const a = medianOf(row)
    const b = medianOf(referenceRow)
    return a === undefined || b === undefined ? "–" : `${(a / b).toFixed(2)}×`
  }
  const header = [
    "implementation",
    `${m.unit}, median (min–max)`,
    "vs net",
    "vs NodeSocket, same Effect",
    ...(m.cpu ? [`client CPU ${m.cpuUnit}`, `server CPU ${m.cpuUnit}`] : []),
    ...(m.extra ? [`${m.extra.name}, median (min–max)`] : [])
  ]
  const cells = rows.map((row) => {
    const ok = okSamples(row)
    const failures = samples.filter((s): s is Extract<Sample, { ok: false }> => isRow(row)(s) && !s.ok)
    const failed = failures.length > 0 ? ` — ${failures.length} failed: ${failures[0]!.error}` : ""
    const base = labels[row.implementation] ?? row.implementation
    const label = row.variant === undefined ? base : `${base}, ${row.variant}`
    if (ok.length === 0) {
      return [label, `failed: ${failures[0]?.error ?? "no samples"}`, ...header.slice(2).map(() => "–")]
    }
    return [
      label,
      spread(ok.map(m.value)) + failed,
      ratio(row, "net"),
      ratio(row, nodeSocketOf[row.implementation]),
      ...(m.cpu ? [fmt(median(ok.map((s) => m.cpu!(s.client!.cpu)))), fmt(median(ok.map((s) => m.cpu!(s.server.cpu))))] : []),
      ...(m.extra ? [spread(ok.map(m.extra.value))] : [])
    ]
  })
  return [
    `### ${scenario}`,
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "--:")).join("|")}|`,
    ...cells.map((r) => `| ${r.join(" | ")} |`)
  ].join("\n")
}
