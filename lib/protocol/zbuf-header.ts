/**
 * The struct bpf_zbuf_header at the start of each zero-copy buffer (docs/freebsd-kernel.md §1, §6):
 * the kernel bumps bzh_kernel_gen with a release after writing the data and bzh_kernel_len;
 * the buffer is ours while kernel_gen != user_gen; we give it back by storing the observed
 * kernel_gen into user_gen. Generations wrap at 2^32, so they are only ever compared for
 * equality (§8.9).
 */
export const ZBUF_HEADER_SIZE = 32;
const KERNEL_GEN = 0;
const KERNEL_LEN = 1;
const USER_GEN = 2;

export class ZbufHeader {
  private readonly words: Int32Array;

  constructor(header: ArrayBuffer) {
    this.words = new Int32Array(header, 0, ZBUF_HEADER_SIZE / 4);
  }

  /**
   * The generation the kernel published if the buffer has been handed to us and not given
   * back yet, else null. The Atomics load orders the reads of kernel_len and the records
   * after it (the acquire that pairs with the kernel's atomic_add_rel_int).
   */
  handedOver(): number | null {
    const kernelGen = Atomics.load(this.words, KERNEL_GEN);
    return kernelGen === this.words[USER_GEN] ? null : kernelGen;
  }

  /** Bytes of records after the header; read only after handedOver() returned a generation. */
  kernelLength(): number {
    return this.words[KERNEL_LEN] >>> 0;
  }

  /** Gives the buffer back: stores the generation we observed, after every read of the data. */
  giveBack(generation: number): void {
    Atomics.store(this.words, USER_GEN, generation);
  }
}
