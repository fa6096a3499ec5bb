import type { Batch } from './batch';
import { closedError, interfaceGone, ZbpfError } from './errors';
import { native } from './native';
import { normalizeOptions, packFilter, type CaptureOptions, type NormalizedOptions } from './options';
import type { FilterSource } from './filter/compile';
import type { PacketCursor } from './protocol/cursor';
import { createProvider } from './providers';
import type { KernelRegions, Provider } from './providers/provider';

export interface CaptureStats {
  /** Packets the kernel saw for this capture (BPF counts them before the filter). */
  received: number;
  /** Packets the kernel had to drop: no buffer was free. */
  dropped: number;
  /** TPACKET_V3 only: times the ring froze because every block was still with the consumer. */
  freezes?: number;
  /** Batches handed to the consumer. */
  batches: number;
  /** The mechanism in effect: 'zerocopy', 'buffered' or 'tpacket-v3'. */
  mode: string;
}

/**
 * How long an idle capture goes between checks that its interface is still there: a departure
 * with nothing waiting wakes no kqueue reader (bpf.c: bpfdetach() calls bpf_wakeup(), whose
 * KNOTE reports only bpf_ready()), so BIOCGETIF is how zero-copy BPF learns of it.
 */
const ATTACH_CHECK_EVERY_MS = 250;

interface Waiter {
  resolve(result: IteratorResult<Batch>): void;
  reject(error: unknown): void;
}

/**
 * A live capture. Iterate it with `for await (const batch of capture)`: each batch is one
 * region the kernel handed over, read in place, and given back when the loop asks for the
 * next one (or ends). Breaking out of the loop closes the capture.
 */
export class Capture implements AsyncIterable<Batch> {
  readonly interface: string;
  readonly mode: string;
  /** Mode 'auto' on BPF that ended up buffered: why zero-copy was not used (undefined otherwise). */
  readonly fallbackReason?: string;
  readonly linkType: number;
  readonly snaplen: number;
  /** The bufferSize option as it took effect: each BPF buffer's bytes, or the whole TPACKET_V3 ring's. */
  readonly bufferSize: number;
  /** The regions the kernel fills and hands over, one batch each: `count` of `size` bytes. */
  readonly regions: KernelRegions;

  private readonly provider: Provider;
  private readonly options: NormalizedOptions;
  private state: 'open' | 'closed' = 'open';
  private current: Batch | null = null;
  private drained: Batch[] = [];
  private waiter: Waiter | null = null;
  /** A next() whose promise has not settled yet (it may hold a batch it is about to resolve). */
  private nextPending = false;
  private timer: NodeJS.Timeout | null = null;
  private failure: unknown = null;
  private batches = 0;
  private idleMs = 0;
  private readonly abort?: { signal: AbortSignal; listener: () => void };

  constructor(options: CaptureOptions) {
    if (options?.signal?.aborted) {
      throw new ZbpfError('capture aborted before it opened', { code: 'ABORT_ERR', hint: 'the AbortSignal had already fired' });
    }
    this.options = normalizeOptions(options, native().platform);
    this.provider = createProvider(this.options, (error) => this.onReadable(error));
    this.interface = this.options.interface;
    this.mode = this.provider.mode;
    this.fallbackReason = this.provider.fallbackReason;
    this.linkType = this.provider.linkType;
    this.snaplen = this.options.snaplen;
    this.bufferSize = this.provider.bufferSize;
    this.regions = Object.freeze({ ...this.provider.regions });
    if (this.options.filterExpression !== undefined) this.installExpression(this.options.filterExpression);
    if (options.signal) {
      const listener = () => this.close();
      options.signal.addEventListener('abort', listener, { once: true });
      this.abort = { signal: options.signal, listener };
    }
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  stats(): CaptureStats {
    return { ...this.provider.counters(), batches: this.batches, mode: this.mode };
  }

  /**
   * Replaces the filter (an expression, `tcpdump -dd` text or instructions) without dropping
   * what is already captured (BIOCSETFNR / SO_ATTACH_FILTER).
   */
  setFilter(filter: FilterSource): void {
    if (this.closed) throw closedError();
    this.provider.setFilter(packFilter(filter, this.snaplen, this.linkType));
  }

  /** The device opened keeping nothing; compile for its link type, then let packets in. */
  private installExpression(expression: string): void {
    try {
      this.provider.setFilter(packFilter(expression, this.snaplen, this.linkType));
    } catch (error) {
      this.provider.shutdown();
      this.releaseQuietly();
      throw error;
    }
  }

  /** Calls fn for every packet with one reused cursor (no allocation per packet) until the capture ends. */
  async forEachPacket(fn: (packet: PacketCursor) => void): Promise<void> {
    for await (const batch of this) batch.forEachPacket(fn);
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return {
      next: () => this.next(),
      // The loop was left early (break, throw): the consumer wants nothing more.
      return: async () => {
        this.close();
        this.drained = [];
        this.giveBackCurrent();
        this.releaseQuietly();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Stops capturing. What the kernel already handed over is still delivered to the loop,
   * then the loop ends; the batch the loop holds stays readable until it moves on.
   */
  close(): void {
    if (this.closed) return;
    try {
      this.stopWaiting();
    } catch (error) {
      this.failure ??= error;
    }
    const { batches, error } = this.provider.shutdown();
    this.drained = batches;
    // After a failure (a departed interface) the teardown's own errors are its echoes.
    if (error) this.failure ??= error;
    this.state = 'closed';
    if (this.abort) this.abort.signal.removeEventListener('abort', this.abort.listener);
    if (this.waiter) this.settle();
    if (!this.current && this.drained.length === 0) this.releaseQuietly();
  }

  /** Frees the provider's memory; a failure there is the loop's error, never close()'s. */
  private releaseQuietly(): void {
    try {
      this.provider.release();
    } catch (error) {
      this.failure ??= error;
    }
  }

  private next(): Promise<IteratorResult<Batch>> {
    if (this.nextPending) {
      return Promise.reject(
        new ZbpfError('next() called while another next() is pending', {
          code: 'ERR_ZBPF_CONCURRENT_NEXT',
          hint: 'await each next() before the next one: consume the capture from one loop',
        }),
      );
    }
    this.nextPending = true;
    const settled = <T>(fn: (value: T) => void) => (value: T) => {
      this.nextPending = false;
      fn(value);
    };
    this.giveBackCurrent();
    return new Promise<IteratorResult<Batch>>((resolveNext, rejectNext) => {
      const resolve = settled(resolveNext);
      const reject = settled(rejectNext);
      if (this.closed) {
        this.waiter = { resolve, reject };
        this.settle();
        return;
      }
      const batch = this.takeOrFail();
      if (batch) {
        // One batch per event-loop turn (docs/architecture.md rule 7): a capture that always has data
        // must not starve timers and I/O by resolving in an endless chain of microtasks.
        const result = this.handOut(batch);
        setImmediate(() => resolve(result));
        return;
      }
      this.waiter = { resolve, reject };
      if (this.closed) this.settle(); // take() failed and closed the capture
      else this.startWaiting();
    });
  }

  private giveBackCurrent(): void {
    if (!this.current) return;
    this.current = null;
    try {
      this.provider.giveBack();
    } catch (error) {
      this.fail(error);
    }
    if (this.closed && this.drained.length === 0) this.releaseQuietly();
  }

  private takeOrFail(): Batch | null {
    try {
      return this.provider.take();
    } catch (error) {
      this.fail(error);
      return null;
    }
  }

  /** From here the batch is the consumer's: close() keeps its memory until it is given back. */
  private handOut(batch: Batch): IteratorResult<Batch> {
    this.current = batch;
    this.batches++;
    return { done: false, value: batch };
  }

  private deliver(batch: Batch): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = null;
    waiter.resolve(this.handOut(batch));
  }

  /** After close: the drained batches, then the failure if there was one, then done. */
  private settle(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    const batch = this.drained.shift();
    if (batch) {
      this.deliver(batch);
      return;
    }
    this.waiter = null;
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      waiter.reject(failure);
      return;
    }
    waiter.resolve({ done: true, value: undefined });
  }

  /**
   * The wait timer's period. BPF needs a tick every timeoutMs to force a rotation (rule 5);
   * a TPACKET_V3 ring retires partly filled blocks itself and wakes the socket, so there the
   * timer only has to check now and then that the interface is still there.
   */
  private tickMs(): number {
    return this.provider.retiresOnItsOwn ? ATTACH_CHECK_EVERY_MS : this.options.timeoutMs;
  }

  private startWaiting(): void {
    this.provider.watch(true);
    this.timer ??= setInterval(() => this.onTick(), this.tickMs());
  }

  private stopWaiting(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.closed) this.provider.watch(false);
  }

  /** Readiness and ticks run outside any promise: whatever they throw ends the loop instead. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.fail(error);
    }
  }

  private onReadable(error: Error | null): void {
    if (error) return this.fail(error);
    this.guarded(() => this.takeWhenReadable());
  }

  private takeWhenReadable(): void {
    if (!this.waiter) return this.provider.watch(false);
    let batch = this.takeOrFail();
    if (!batch && this.options.immediate && !this.closed) {
      this.provider.flush();
      batch = this.takeOrFail();
    }
    if (batch) return this.wake(batch);
    // Readable yet nothing handed over (docs/freebsd-kernel.md §8.6): stop listening until the next
    // tick instead of spinning on a descriptor that stays readable.
    if (!this.closed) this.provider.watch(false);
  }

  private onTick(): void {
    this.guarded(() => this.takeOnTick());
  }

  private takeOnTick(): void {
    if (!this.waiter || this.closed) return;
    let batch = this.takeOrFail();
    if (!batch && !this.closed) {
      this.provider.flush();
      batch = this.takeOrFail();
    }
    if (batch) return this.wake(batch);
    if (this.closed) return;
    this.idleMs += this.tickMs();
    if (this.idleMs >= ATTACH_CHECK_EVERY_MS) this.checkAttached();
    if (!this.closed) this.provider.watch(true);
  }

  private wake(batch: Batch): void {
    this.idleMs = 0;
    this.stopWaiting();
    this.deliver(batch);
  }

  private checkAttached(): void {
    this.idleMs = 0;
    if (this.provider.attached()) return;
    this.fail(interfaceGone(this.interface, 'ioctl(BIOCGETIF)'));
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    this.close();
  }
}

/** Opens a capture: see CaptureOptions. Throws a ZbpfError that says what to fix. */
export function openCapture(options: CaptureOptions): Capture {
  return new Capture(options);
}
