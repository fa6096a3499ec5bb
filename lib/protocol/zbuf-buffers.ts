import { Batch } from '../batch';
import type { PacketCursor } from './cursor';
import { ZBUF_HEADER_SIZE, ZbufHeader } from './zbuf-header';

/** What the buffer protocol needs from the native handle (NativeBpfHandle in zero-copy mode). */
export interface ZbufMemory {
  readonly bufferLength: number;
  headers(): ArrayBuffer[];
  lend(index: number, offset: number, length: number): ArrayBuffer;
  revoke(index: number): void;
}

/**
 * The two zero-copy buffers. The kernel hands them over strictly A, B, A, B… starting with A
 * (§4, §8.3), so only the next one in turn is ever checked: looking at whichever seems ready
 * could reorder packets when both are ours.
 */
export class ZerocopyBuffers {
  private readonly headers: ZbufHeader[];
  private next = 0;
  private out: { index: number; generation: number } | null = null;

  constructor(
    private readonly memory: ZbufMemory,
    private readonly makeCursor: (bytes: Uint8Array) => PacketCursor,
  ) {
    this.headers = memory.headers().map((header) => new ZbufHeader(header));
  }

  take(): Batch | null {
    const index = this.next;
    const generation = this.headers[index].handedOver();
    if (generation === null) return null;
    this.out = { index, generation };
    return this.lendNext();
  }

  /** Detach first, then acknowledge: after the ack the kernel may overwrite the buffer (§8.5). */
  giveBack(): void {
    if (!this.out) return;
    this.memory.revoke(this.out.index);
    this.headers[this.out.index].giveBack(this.out.generation);
    this.out = null;
  }

  /** At close: the buffers already handed over, in order, still readable until release(). */
  drain(): Batch[] {
    const batches: Batch[] = [];
    for (let i = 0; i < 2; i++) {
      if (this.out && this.out.index === this.next) break;
      const generation = this.headers[this.next].handedOver();
      if (generation === null) break;
      batches.push(this.lendNext());
    }
    return batches;
  }

  private lendNext(): Batch {
    const index = this.next;
    // kernel_len counts record bytes after the header (§5); never trust it past the buffer.
    const length = Math.min(this.headers[index].kernelLength(), this.memory.bufferLength - ZBUF_HEADER_SIZE);
    this.next = 1 - index;
    return new Batch(new Uint8Array(this.memory.lend(index, ZBUF_HEADER_SIZE, length)), this.makeCursor);
  }
}
