import type { Batch } from '../batch';

export type Direction = 'in' | 'out' | 'inout';

/** Options after validation, as every provider receives them. */
export interface ProviderOptions {
  interface: string;
  mode: 'auto' | 'zerocopy' | 'buffered';
  bufferSize: number; // 0: the provider's default
  snaplen: number;
  promiscuous: boolean;
  immediate: boolean;
  timeoutMs: number;
  direction: Direction;
  /** Packed classic-BPF program, snaplen already applied. */
  filter: Uint8Array;
}

/** The regions of kernel buffer memory that the kernel fills and hands over, one batch each. */
export interface KernelRegions {
  /** How many: the two BPF buffers, or the blocks of the TPACKET_V3 ring. */
  readonly count: number;
  /** Bytes in each. */
  readonly size: number;
}

export interface KernelCounters {
  /** Packets the kernel saw on the interface for this capture (BPF: before the filter). */
  received: number;
  /** Packets the kernel accepted but had no room for. */
  dropped: number;
  /** TPACKET_V3 only (BPF keeps no such count): times the ring froze because every block was ours. */
  freezes?: number;
}

/**
 * A kernel mechanism that writes packets into memory shared with us, hands a region over,
 * and takes it back (docs/architecture.md §1). The Capture drives it.
 */
export interface Provider {
  /** What is in effect: 'zerocopy' | 'buffered' (BPF) or 'tpacket-v3' (Linux). */
  readonly mode: string;
  /** BPF mode 'auto' that ended up buffered: why zero-copy was not used. */
  readonly fallbackReason?: string;
  readonly linkType: number;
  /** The bufferSize option as it took effect: each BPF buffer's bytes, or the whole ring's. */
  readonly bufferSize: number;
  readonly regions: KernelRegions;
  /** True if the kernel hands partly filled regions over by itself and wakes us (TPACKET_V3). */
  readonly retiresOnItsOwn: boolean;
  /** The next region the kernel handed over, as a batch; null if there is none now. */
  take(): Batch | null;
  /** Gives the batch from take() back to the kernel; its memory is detached first. */
  giveBack(): void;
  /** Asks the kernel to hand over what it holds (timer tick); take() afterwards. */
  flush(): void;
  /** Reports readiness through the callback given at construction, or stops doing so. */
  watch(on: boolean): void;
  /** Counters accumulated since the capture opened; after shutdown(), the totals at shutdown. */
  counters(): KernelCounters;
  /** false once the interface has gone away. */
  attached(): boolean;
  setFilter(program: Uint8Array): void;
  /**
   * Stops capturing and closes the descriptor; never throws. Regions already handed over stay
   * readable: they are returned (in order) for the capture to deliver, and their memory is
   * released by release(). `error` is the first thing that went wrong on the way, if anything.
   */
  shutdown(): Shutdown;
  /** Frees the memory once the last batch has been given back; safe to call twice. */
  release(): void;
}

export interface Shutdown {
  batches: Batch[];
  error: unknown;
}

/**
 * Runs the steps of a teardown one after the other, each even if an earlier one threw, and
 * keeps the first error: a departed interface must not stop the descriptor from being closed.
 */
export class TeardownSteps {
  error: unknown = null;

  run(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.error ??= error;
    }
  }
}

export type ReadinessCallback = (error: Error | null) => void;
