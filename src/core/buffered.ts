/**
 * The byte rules of the buffered reader and writer and of framing, once for
 * both Effect lines: where a line or a delimited message ends, what a length
 * prefix says, when the reader's window must move. The lines' BufReader and
 * BufWriter run the reads and writes; every change of state here is
 * synchronous, made only once a read has returned or a call is complete, so an
 * interrupted call leaves the window as it was.
 */

/** The buffer size a BufReader or BufWriter takes when none is given. */
export const DEFAULT_CAPACITY = 16 * 1024

const LF = 0x0a
const CR = 0x0d

/** The unread bytes of a fixed buffer: `bytes[start, end)`. */
export class Window {
  /** A Buffer, for its UTF-8 decoding in place (much cheaper than a TextDecoder's for short lines). */
  readonly bytes: Buffer
  start = 0
  end = 0

  constructor(capacity: number) {
    this.bytes = Buffer.alloc(capacity)
  }

  /** The next `n` unread bytes as UTF-8 text (an invalid sequence becomes U+FFFD). */
  text(n: number): string {
    return this.bytes.toString("utf8", this.start, this.start + n)
  }

  get capacity(): number {
    return this.bytes.length
  }

  get available(): number {
    return this.end - this.start
  }

  /**
   * Where the next read may put its bytes: the free tail, after moving the
   * unread bytes to the front when the tail is full (or they are none).
   */
  free(): Uint8Array {
    if (this.start === this.end) {
      this.start = this.end = 0
    } else if (this.end === this.bytes.length && this.start > 0) {
      this.bytes.copyWithin(0, this.start, this.end)
      this.end -= this.start
      this.start = 0
    }
    return this.bytes.subarray(this.end)
  }

  /** A read put `n` bytes into `free()`'s array. */
  filled(n: number): void {
    this.end += n
  }

  /** The unread bytes as a view (valid until the window changes). */
  view(n = this.available): Uint8Array {
    return this.bytes.subarray(this.start, this.start + n)
  }

  /** Drops `n` unread bytes. */
  consume(n: number): void {
    this.start += n
    if (this.start === this.end) this.start = this.end = 0
  }

  /** Copies up to `into.length` unread bytes into `into` without consuming them; returns how many. */
  copyOut(into: Uint8Array): number {
    const n = Math.min(into.length, this.available)
    into.set(this.bytes.subarray(this.start, this.start + n))
    return n
  }

  /**
   * The offset (from `start`) just past the first occurrence of `delimiter`
   * at or after unread offset `from`, or -1.
   */
  find(delimiter: Uint8Array, from: number): number {
    const { bytes, end } = this
    const first = delimiter[0]!
    const last = end - delimiter.length
    for (let i = this.start + from; i <= last; i++) {
      i = bytes.indexOf(first, i)
      if (i < 0 || i > last) return -1
      let j = 1
      while (j < delimiter.length && bytes[i + j] === delimiter[j]) j++
      if (j === delimiter.length) return i - this.start + delimiter.length
    }
    return -1
  }
}

/** Where a scan for `delimiter` may start again after `scanned` bytes found none. */
export const rescanFrom = (scanned: number, delimiter: Uint8Array): number =>
  Math.max(0, scanned - delimiter.length + 1)

/** The window's next `n` bytes, a line, as text without its terminator (LF, or CRLF). */
export const lineText = (window: Window, n: number): string => {
  const { bytes, start } = window
  if (n > 0 && bytes[start + n - 1] === LF) n--
  if (n > 0 && bytes[start + n - 1] === CR) n--
  return window.text(n)
}

export const NEWLINE: Uint8Array = new Uint8Array([LF])

/** A length prefix: 1, 2 or 4 bytes, big- or little-endian, unsigned. */
export interface Prefix {
  readonly size: 1 | 2 | 4
  readonly littleEndian: boolean
}

/** The frame length a prefix holds. */
export const readPrefix = (header: Uint8Array, prefix: Prefix): number => {
  const view = new DataView(header.buffer, header.byteOffset, prefix.size)
  return prefix.size === 1
    ? view.getUint8(0)
    : prefix.size === 2
    ? view.getUint16(0, prefix.littleEndian)
    : view.getUint32(0, prefix.littleEndian)
}

/** The largest length a prefix can hold. */
export const prefixMax = (prefix: Prefix): number => prefix.size === 4 ? 0xffffffff : (1 << (8 * prefix.size)) - 1

/** The prefix for a frame of `length` bytes (which `prefixMax` bounds). */
export const writePrefix = (length: number, prefix: Prefix): Uint8Array => {
  const header = new Uint8Array(prefix.size)
  const view = new DataView(header.buffer)
  if (prefix.size === 1) view.setUint8(0, length)
  else if (prefix.size === 2) view.setUint16(0, length, prefix.littleEndian)
  else view.setUint32(0, length, prefix.littleEndian)
  return header
}
