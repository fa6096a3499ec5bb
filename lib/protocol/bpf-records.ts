import { corruptRecord } from '../errors';
import { PacketCursor } from './cursor';

/**
 * Records as FreeBSD's BPF writes them (docs/freebsd-kernel.md §5): a struct bpf_xhdr (we always ask
 * for BPF_T_NANOTIME) followed by the packet at +bh_hdrlen, the next record at
 * BPF_WORDALIGN(bh_hdrlen + bh_caplen). Header fields are in host order (little-endian on
 * every platform zbpf supports, checked at load).
 */
export const BPF_ALIGNMENT = 8;
/** offsetof(struct bpf_xhdr, bh_hdrlen) + sizeof(u_short): the smallest possible bh_hdrlen. */
export const BPF_XHDR_MIN_HDRLEN = 26;
export const BPF_XHDR_CAPLEN = 16;
export const BPF_XHDR_DATALEN = 20;
export const BPF_XHDR_HDRLEN = 24;

export function bpfWordAlign(length: number): number {
  return (length + BPF_ALIGNMENT - 1) & ~(BPF_ALIGNMENT - 1);
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('zbpf reads BPF headers in host order and supports little-endian hosts only');
}

/** Walks the records in bytes[0, bytes.length): the data area of a handed-over buffer. */
export class BpfRecordCursor extends PacketCursor {
  private readonly words: Uint32Array;
  private readonly halves: Uint16Array;
  private readonly end: number;
  private nextRecord = 0;

  constructor(bytes: Uint8Array) {
    super(bytes);
    // Record headers are 8-aligned within the data area, which starts 8-aligned (§5).
    const given = bytes.byteLength === 0; // typed arrays cannot be made over a detached buffer
    this.words = given ? new Uint32Array(0) : new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    this.halves = given ? new Uint16Array(0) : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1);
    this.end = bytes.byteLength;
  }

  next(): boolean {
    const at = this.nextRecord;
    // A detached (given back) batch has length 0 now: it reads as empty, never as new data.
    // `length`, not `byteLength`: V8 (Node 20) compiles byteLength here to a generic load and a
    // builtin call per packet; length is an inline field load.
    if (at >= this.end || this.bytes.length === 0) return false;
    if (at + BPF_XHDR_MIN_HDRLEN > this.end) {
      throw corruptRecord(`record header at ${at} runs past the end of the data (${this.end})`);
    }
    const word = at >>> 2;
    const hdrlen = this.halves[(at + BPF_XHDR_HDRLEN) >>> 1];
    const caplen = this.words[word + (BPF_XHDR_CAPLEN >>> 2)];
    if (hdrlen < BPF_XHDR_MIN_HDRLEN) throw corruptRecord(`bh_hdrlen ${hdrlen} at ${at} is below ${BPF_XHDR_MIN_HDRLEN}`);
    if (at + hdrlen + caplen > this.end) {
      throw corruptRecord(`record at ${at} (hdrlen ${hdrlen}, caplen ${caplen}) runs past the end of the data (${this.end})`);
    }
    // bpf_ts: 64-bit seconds (exact as a number up to 2^53), then bt_frac holding nanoseconds.
    this.seconds = this.words[word] + this.words[word + 1] * 0x1_0000_0000;
    this.nanoseconds = this.words[word + 2];
    this.caplen = caplen;
    this.length = this.words[word + (BPF_XHDR_DATALEN >>> 2)];
    this.offset = at + hdrlen;
    this.nextRecord = at + bpfWordAlign(hdrlen + caplen);
    return true;
  }
}
