import { Batch } from '../batch';
import { bpfWordAlign } from './bpf-records';
import type { PacketCursor } from './cursor';
import { ZBUF_HEADER_SIZE, ZbufHeader } from './zbuf-header';

/** What the buffer protocol needs from the native handle (NativeBpfHandle in zero-copy mode). */
export interface ZbufMemory {
  readonly bufferLength: number;
  headers(): ArrayBuffer[];
  /** Slot i < 2: buffer i as handed over; slot 2 + i: buffer i while it is the store buffer. */
  lend(slot: number, offset: number, length: number): ArrayBuffer;
  revoke(slot: number): void;
  /** BIOCROTZBUF: the buffer handed over, or -1. */
  rotate(): number;
  /** FIONREAD: bd_slen, plus bd_hlen while the kernel has a hold buffer. */
  pending(): number;
}

interface Lent {
  slot: number;
  index: number;
  /** The generation to acknowledge; null for a store-buffer prefix, which is not ours to ack. */
  generation: number | null;
}

const STORE_SLOT = 2;

/**
 * The two zero-copy buffers. The kernel hands them over strictly A, B, A, B… starting with A
 * (bpf_zerocopy.c: bpf_zerocopy_ioctl_setzbuf() makes A the first store buffer), so only the
 * next one in turn is ever checked: looking at whichever seems ready could reorder packets.
 *
 * The tail of a burst: the kernel reclaims an acknowledged buffer only in catchpacket() or
 * reset_d() (bpf.c), and BIOCROTZBUF rotates only while it has no hold buffer
 * (bpf_zerocopy_ioctl_rotzbuf()), so on a silent link the last packets can stay in the store
 * buffer. flush() then asks FIONREAD, which bpfioctl() answers under the descriptor lock with
 * bd_slen plus bd_hlen while a hold buffer exists. catchpacket() writes a record completely
 * before it raises bd_slen, and only appends after it until the buffer is handed over, so the
 * records below bd_slen are complete and stable: they are lent as a batch, and when that
 * buffer is handed over later only the rest is delivered.
 *
 * bd_slen is derived as FIONREAD minus the length of the buffer taken last, which is the hold
 * buffer if there is one. Too small is harmless (the next tick catches up); it is too large
 * only if the buffer taken last is still the kernel's store buffer, which happens when
 * bpf_zerocopy_buffull() handed it over in place because we still held the one before. That
 * can only be so if the next buffer was already handed over when the one before was
 * acknowledged. Then the hold buffer is the next one, acknowledged and untouched, so FIONREAD
 * minus the last length is exactly the next buffer's old length: that answer is not trusted
 * (the next packet moves the kernel on: catchpacket() reclaims and rotates).
 */
export class ZerocopyBuffers {
  private readonly headers: ZbufHeader[];
  private next = 0;
  private readonly out: Lent[] = [];
  /** Bytes of the next buffer's records already lent while it was the store buffer. */
  private delivered = 0;
  /** Where its complete records end, as the last flush() learned. */
  private storeEnd = 0;
  /** kernel_len of each buffer when last taken: the kernel's bd_hlen while it is the hold buffer. */
  private readonly takenLength = [0, 0];
  private lastLength = 0;
  /** Whether the buffer taken last was handed over after the one before it was acknowledged. */
  private lastWasRotated = true;
  private nextSeenBeforeAck = false;
  private stopped = false;

  constructor(
    private readonly memory: ZbufMemory,
    private readonly makeCursor: (bytes: Uint8Array) => PacketCursor,
  ) {
    this.headers = memory.headers().map((header) => new ZbufHeader(header));
  }

  /** The next handed-over buffer (what of it was not lent already), else the store's new records. */
  take(): Batch | null {
    for (let i = 0; i < 2; i++) {
      const index = this.next;
      const generation = this.headers[index].handedOver();
      if (generation === null) return this.takeStorePrefix();
      if (this.isOut(index)) return null;
      // kernel_len counts record bytes after the header; never trust it past the buffer.
      const length = Math.min(this.headers[index].kernelLength(), this.memory.bufferLength - ZBUF_HEADER_SIZE);
      const start = Math.min(bpfWordAlign(this.delivered), length);
      this.next = 1 - index;
      this.lastLength = length;
      this.takenLength[index] = length;
      this.lastWasRotated = this.out.length === 0 && !this.nextSeenBeforeAck;
      this.delivered = 0;
      this.storeEnd = 0;
      if (start === length) {
        this.acknowledge(index, generation); // everything in it was lent as a prefix already
        continue;
      }
      return this.lend({ slot: index, index, generation }, start, length);
    }
    return null;
  }

  /** Detach first, then acknowledge: after the ack the kernel may overwrite the buffer. */
  giveBack(): void {
    const lent = this.out.shift();
    if (!lent) return;
    this.memory.revoke(lent.slot);
    if (lent.generation !== null) this.acknowledge(lent.index, lent.generation);
  }

  /** Timer tick: BIOCROTZBUF, and if that hands nothing over, FIONREAD for the store's records. */
  flush(): void {
    if (this.memory.rotate() >= 0) return;
    const pending = this.memory.pending();
    // Handed over in between: what FIONREAD counted is no longer the store buffer alone.
    if (this.headers[this.next].handedOver() !== null) return;
    const estimate = pending - this.lastLength;
    if (!this.lastWasRotated && estimate === this.takenLength[this.next]) return;
    const end = Math.min(estimate, this.memory.bufferLength - ZBUF_HEADER_SIZE);
    this.storeEnd = Math.max(this.storeEnd, end);
  }

  /**
   * At close, once the kernel appends nothing more (the provider has set a reject-all filter):
   * every record it holds, in order. The batches stay readable until given back.
   */
  drain(): Batch[] {
    const batches: Batch[] = [];
    for (let i = 0; i < 3; i++) {
      let batch = this.take();
      if (!batch) {
        this.flush();
        batch = this.take();
      }
      if (!batch) break;
      batches.push(batch);
    }
    this.stopped = true;
    return batches;
  }

  private takeStorePrefix(): Batch | null {
    const index = this.next;
    const start = bpfWordAlign(this.delivered);
    if (this.storeEnd <= start || this.isOut(index, STORE_SLOT)) return null;
    this.delivered = this.storeEnd;
    return this.lend({ slot: STORE_SLOT + index, index, generation: null }, start, this.storeEnd);
  }

  private acknowledge(index: number, generation: number): void {
    if (this.stopped) return;
    this.headers[index].giveBack(generation);
    // Read after the ack: if the next buffer is ours already, the kernel may have handed it
    // over in place (bpf_zerocopy_buffull()) while it still held this one.
    this.nextSeenBeforeAck = this.headers[1 - index].handedOver() !== null;
  }

  private isOut(index: number, base = 0): boolean {
    return this.out.some((lent) => lent.slot === base + index);
  }

  private lend(lent: Lent, start: number, end: number): Batch {
    this.out.push(lent);
    const bytes = new Uint8Array(this.memory.lend(lent.slot, ZBUF_HEADER_SIZE + start, end - start));
    return new Batch(bytes, this.makeCursor);
  }
}
