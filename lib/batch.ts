import { PacketCursor } from './protocol/cursor';

/** One packet, as yielded by iterating a Batch. `data` is a view: copy() it to keep it. */
export interface Packet {
  /** Nanoseconds since the epoch. */
  readonly timestamp: bigint;
  readonly caplen: number;
  readonly length: number;
  readonly data: Uint8Array;
  copy(): Uint8Array;
}

class PacketRecord implements Packet {
  constructor(
    readonly timestamp: bigint,
    readonly caplen: number,
    readonly length: number,
    readonly data: Uint8Array,
  ) {}

  copy(): Uint8Array {
    return this.data.slice();
  }
}

/**
 * The packets of one region the kernel handed over (a zero-copy buffer, a ring block, a
 * read(2)), read in place. The region goes back to the kernel when the consumer moves on
 * to the next batch; from then on `bytes` and every packet view read as empty.
 */
export class Batch implements Iterable<Packet> {
  constructor(
    /** The records, in place in memory shared with the kernel. */
    readonly bytes: Uint8Array,
    private readonly makeCursor: (bytes: Uint8Array) => PacketCursor,
  ) {}

  /** True once the batch has been given back to the kernel. */
  get released(): boolean {
    return this.bytes.byteLength === 0;
  }

  /** A fresh cursor before the first packet: `while (c.next()) use(c.offset, c.caplen)`. */
  cursor(): PacketCursor {
    return this.makeCursor(this.bytes);
  }

  /** Calls fn for every packet with one reused cursor: no allocation per packet. */
  forEachPacket(fn: (packet: PacketCursor) => void): number {
    const cursor = this.cursor();
    let count = 0;
    while (cursor.next()) {
      fn(cursor);
      count++;
    }
    return count;
  }

  /** Number of packets (walks the records). */
  count(): number {
    const cursor = this.cursor();
    let count = 0;
    while (cursor.next()) count++;
    return count;
  }

  *[Symbol.iterator](): Iterator<Packet> {
    const cursor = this.cursor();
    while (cursor.next()) {
      yield new PacketRecord(cursor.timestamp, cursor.caplen, cursor.length, cursor.data);
    }
  }
}
