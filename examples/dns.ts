/**
 * A DNS message codec in a page (RFC 1035), for udp-dns-query.ts: a query for
 * one name, and the answers of a reply, names decompressed. No I/O here.
 */

/** Query types this codec names (the rest print as numbers). */
export const types: Readonly<Record<number, string>> = { 1: "A", 5: "CNAME", 28: "AAAA" }

const rcodes = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"]

/** A reply's response code by name. */
export const rcodeName = (rcode: number): string => rcodes[rcode] ?? `RCODE${rcode}`

/** A query for `name` (type 1 = A), recursion desired, with the given id. */
export const encodeQuery = (id: number, name: string, type = 1): Uint8Array => {
  const labels = name.replace(/\.$/, "").split(".").map((label) => new TextEncoder().encode(label))
  if (labels.some((label) => label.length === 0 || label.length > 63)) throw new RangeError(`not a DNS name: ${name}`)
  const qname = labels.reduce((n, label) => n + 1 + label.length, 1)
  const out = new Uint8Array(12 + qname + 4)
  const view = new DataView(out.buffer)
  view.setUint16(0, id)
  view.setUint16(2, 0x0100) // RD
  view.setUint16(4, 1) // QDCOUNT
  let at = 12
  for (const label of labels) {
    out[at++] = label.length
    out.set(label, at)
    at += label.length
  }
  out[at++] = 0
  view.setUint16(at, type)
  view.setUint16(at + 2, 1) // class IN
  return out
}

export interface Answer {
  readonly name: string
  readonly type: number
  readonly ttl: number
  /** A and AAAA records as addresses, CNAME as a name, others as hex. */
  readonly data: string
}

export interface Reply {
  readonly id: number
  readonly rcode: number
  readonly truncated: boolean
  readonly answers: ReadonlyArray<Answer>
}

/** A malformed reply: the codec says where. */
export class DecodeError extends Error {}

/** A name at `at`, following compression pointers; its text and where the record goes on. */
const readName = (msg: Uint8Array, at: number): { readonly name: string; readonly next: number } => {
  const labels: Array<string> = []
  let next = -1
  for (let hops = 0; hops < 64; hops++) {
    const length = msg[at]
    if (length === undefined) throw new DecodeError("name runs past the message")
    if (length === 0) return { name: labels.join(".") || ".", next: next < 0 ? at + 1 : next }
    if ((length & 0xc0) === 0xc0) {
      if (next < 0) next = at + 2
      at = ((length & 0x3f) << 8) | msg[at + 1]!
      continue
    }
    labels.push(new TextDecoder().decode(msg.subarray(at + 1, at + 1 + length)))
    at += 1 + length
  }
  throw new DecodeError("too many compression pointers")
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")

/** The header and answer records of a reply. */
export const decodeReply = (msg: Uint8Array): Reply => {
  if (msg.length < 12) throw new DecodeError(`a reply of ${msg.length} bytes has no header`)
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength)
  const flags = view.getUint16(2)
  if ((flags & 0x8000) === 0) throw new DecodeError("not a reply (QR is 0)")
  let at = 12
  for (let q = view.getUint16(4); q > 0; q--) at = readName(msg, at).next + 4
  const answers: Array<Answer> = []
  for (let a = view.getUint16(6); a > 0; a--) {
    const { name, next } = readName(msg, at)
    if (next + 10 > msg.length) throw new DecodeError("record header runs past the message")
    const type = view.getUint16(next)
    const ttl = view.getUint32(next + 4)
    const length = view.getUint16(next + 8)
    const rdata = msg.subarray(next + 10, next + 10 + length)
    if (rdata.length !== length) throw new DecodeError("record data runs past the message")
    const data = type === 1 && length === 4
      ? Array.from(rdata).join(".")
      : type === 28 && length === 16
      ? Array.from({ length: 8 }, (_, i) => ((rdata[2 * i]! << 8) | rdata[2 * i + 1]!).toString(16)).join(":")
      : type === 5
      ? readName(msg, next + 10).name
      : hex(rdata)
    answers.push({ name, type, ttl, data })
    at = next + 10 + length
  }
  return { id: view.getUint16(0), rcode: flags & 0x000f, truncated: (flags & 0x0200) !== 0, answers }
}
