/**
 * A position in a batch of packet records. Walking a batch moves one cursor from record to
 * record and overwrites its fields in place, so the hot path allocates nothing per packet.
 * Each record format (BPF, TPACKET_V3, pcap files) supplies its own subclass.
 */
export abstract class PacketCursor {
  /** Offset of the packet's first byte in `bytes`. */
  offset = 0;
  /** Bytes captured (at most the snap length). */
  caplen = 0;
  /** Length of the packet on the wire. */
  length = 0;
  /** Capture time: whole seconds since the epoch, and nanoseconds within that second. */
  seconds = 0;
  nanoseconds = 0;

  constructor(readonly bytes: Uint8Array) {}

  /** Moves to the next record; false at the end of the batch. Throws on a corrupt record. */
  abstract next(): boolean;

  /** Capture time in nanoseconds since the epoch (allocates a bigint). */
  get timestamp(): bigint {
    return BigInt(this.seconds) * 1_000_000_000n + BigInt(this.nanoseconds);
  }

  /** The packet's bytes, a view into the batch: empty once the batch is given back. */
  get data(): Uint8Array {
    return this.bytes.subarray(this.offset, this.offset + this.caplen);
  }

  /** The packet's bytes, copied out: still valid after the batch is given back. */
  copy(): Uint8Array {
    return this.bytes.slice(this.offset, this.offset + this.caplen);
  }
}
