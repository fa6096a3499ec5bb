import { Batch } from '../batch';
import { callNative as call, fromNative, interfaceGone, ZbpfError } from '../errors';
import { packProgram, rejectAll } from '../filter/program';
import { native, type NativeBpfHandle } from '../native';
import { BpfRecordCursor } from '../protocol/bpf-records';
import type { PacketCursor } from '../protocol/cursor';
import { ZerocopyBuffers } from '../protocol/zbuf-buffers';
import {
  TeardownSteps,
  type Direction,
  type KernelCounters,
  type KernelRegions,
  type Provider,
  type ProviderOptions,
  type ReadinessCallback,
  type Shutdown,
} from './provider';

const DIRECTION: Record<Direction, number> = { in: 0, inout: 1, out: 2 }; // BPF_D_*
const U32 = 0x1_0000_0000;

const makeCursor = (bytes: Uint8Array): PacketCursor => new BpfRecordCursor(bytes);
/** Set at shutdown so the kernel appends nothing more while we drain. */
const REJECT_ALL = packProgram(rejectAll());

/** bpf.c: bpfread() returns ENXIO once the hold and store buffers are empty and bd_bif is NULL. */
const isDeparture = (error: unknown) => error instanceof ZbpfError && error.code === 'ENXIO';

/**
 * BIOCGSTATS counters are u_int that wrap at 2^32 (§3); we add up the differences so the
 * totals since open keep growing.
 */
class WrappingCounters {
  private last: [number, number] = [0, 0];
  readonly totals: KernelCounters = { received: 0, dropped: 0 };

  update([recv, drop]: [number, number]): KernelCounters {
    this.totals.received += (recv - this.last[0] + U32) % U32;
    this.totals.dropped += (drop - this.last[1] + U32) % U32;
    this.last = [recv, drop];
    return { ...this.totals };
  }
}

/** FreeBSD /dev/bpf, zero-copy or buffered; the protocol of docs/freebsd-kernel.md §9. */
export class BpfProvider implements Provider {
  readonly mode: 'zerocopy' | 'buffered';
  readonly fallbackReason?: string;
  readonly linkType: number;
  readonly bufferSize: number;
  readonly regions: KernelRegions;
  // Zero-copy BPF rotates only when asked (docs/freebsd-kernel.md §8.7): the capture's timer does it.
  readonly retiresOnItsOwn = false;
  private readonly handle: NativeBpfHandle;
  private readonly kernelCounts = new WrappingCounters();
  private readonly zbuf?: ZerocopyBuffers;
  private readonly interfaceName: string;
  private lent = false;
  /** Buffered mode after shutdown: the copies drained, detached in order as they are given back. */
  private readonly drainedCopies: Uint8Array[] = [];
  private closed = false;
  /** Buffered mode: read(2) said ENXIO, so everything captured before the departure was read. */
  private departed = false;

  constructor(options: ProviderOptions, onReadable: ReadinessCallback) {
    const { BpfHandle } = native();
    this.handle = call(
      () =>
        new BpfHandle(
          {
            interface: options.interface,
            mode: options.mode,
            bufferSize: options.bufferSize,
            immediate: options.immediate,
            direction: DIRECTION[options.direction],
            promiscuous: options.promiscuous,
            filter: options.filter,
          },
          (error) => onReadable(error && (fromNative(error) as Error)),
        ),
    );
    this.interfaceName = options.interface;
    this.mode = this.handle.mode;
    this.fallbackReason = this.handle.fallbackReason;
    this.linkType = this.handle.linkType;
    this.bufferSize = this.handle.bufferLength;
    // Buffered BPF also fills two kernel buffers (store and hold); read(2) copies one out.
    this.regions = { count: 2, size: this.bufferSize };
    if (this.mode === 'zerocopy') this.zbuf = new ZerocopyBuffers(this.handle, makeCursor);
  }

  take(): Batch | null {
    if (this.closed) return null;
    const batch = this.zbuf ? this.zbuf.take() : this.readBatch();
    this.lent = batch !== null;
    return batch;
  }

  giveBack(): void {
    if (this.zbuf) return call(() => this.zbuf!.giveBack());
    if (this.lent) {
      this.lent = false;
      this.handle.revoke(0);
      return;
    }
    // A copy is ours, not the kernel's, but it obeys the same rule: unreadable once given back.
    const copy = this.drainedCopies.shift();
    if (copy) structuredClone(copy.buffer, { transfer: [copy.buffer as ArrayBuffer] });
  }

  flush(): void {
    // Zero-copy: neither timeouts nor immediate mode rotate by themselves (bpf.c: catchpacket()
    // rotates only a full buffer), so the timer does it. Buffered: a non-blocking read(2)
    // already returns what the store holds (bpf.c: bpfread()).
    if (this.zbuf && !this.closed) call(() => this.zbuf!.flush());
  }

  watch(on: boolean): void {
    if (!this.closed) call(() => this.handle.watch(on));
  }

  counters(): KernelCounters {
    if (this.closed) return { ...this.kernelCounts.totals };
    return this.kernelCounts.update(call(() => this.handle.stats()));
  }

  attached(): boolean {
    return !this.closed && call(() => this.handle.attached());
  }

  setFilter(program: Uint8Array): void {
    call(() => this.handle.setFilter(program));
  }

  /**
   * Every step runs even after a departure: the filter that stops new appends, the drain,
   * the final counters (BIOCGSTATS needs no interface), then the descriptor is closed.
   */
  shutdown(): Shutdown {
    const batches: Batch[] = [];
    if (this.closed) return { batches, error: null };
    const steps = new TeardownSteps();
    steps.run(() => this.setFilter(REJECT_ALL));
    steps.run(() => batches.push(...(this.zbuf ? this.zbuf.drain() : this.drainReads())));
    steps.run(() => this.counters());
    this.closed = true;
    steps.run(() => call(() => this.handle.shutdown()));
    return { batches, error: steps.error };
  }

  release(): void {
    this.closed = true;
    call(() => this.handle.close());
  }

  private readBatch(): Batch | null {
    const length = this.readInto();
    if (length === 0) return null;
    return new Batch(new Uint8Array(this.handle.lend(0, 0, length)), makeCursor);
  }

  /** read(2) without blocking; 0 when nothing is ready. Throws the departure once all is read. */
  private readInto(target?: Uint8Array): number {
    if (this.departed) throw interfaceGone(this.interfaceName, 'read(/dev/bpf)');
    try {
      return call(() => this.handle.read(target));
    } catch (error) {
      if (!isDeparture(error)) throw error;
      this.departed = true;
      throw interfaceGone(this.interfaceName, 'read(/dev/bpf)');
    }
  }

  /**
   * Buffered mode at close: what the kernel still holds, copied out. A non-blocking read
   * rotates a non-empty store buffer (bpf.c: bpfread()), so two reads take hold and store.
   */
  private drainReads(): Batch[] {
    const batches: Batch[] = [];
    for (let i = 0; i < 2 && !this.departed; i++) {
      const target = new Uint8Array(this.bufferSize);
      let length = 0;
      try {
        length = this.readInto(target);
      } catch (error) {
        if (!this.departed) throw error;
      }
      if (length === 0) break;
      const copy = target.subarray(0, length);
      this.drainedCopies.push(copy);
      batches.push(new Batch(copy, makeCursor));
    }
    return batches;
  }
}
