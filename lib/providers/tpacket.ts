import { Batch } from '../batch';
import { callNative as call, fromNative, invalidOption, ZbpfError } from '../errors';
import { packProgram, unpackProgram } from '../filter/program';
import { forStrippedVlanTags } from '../filter/stripped-vlan';
import { native, type NativeTpacketHandle, type NativeTpacketHandleConstructor } from '../native';
import type { PacketCursor } from '../protocol/cursor';
import { TP_STATUS_KERNEL, TP_STATUS_USER, TPACKET3, Tpacket3RecordCursor } from '../protocol/tpacket3-records';
import {
  TeardownSteps,
  type KernelCounters,
  type KernelRegions,
  type Provider,
  type ProviderOptions,
  type ReadinessCallback,
  type Shutdown,
} from './provider';

// tpacket_hdr_v1 as 32-bit words, from the header view's start (block offset 8).
const STATUS = 0;
const NUM_PKTS = (TPACKET3.numPkts - TPACKET3.blockHeaderOffset) >>> 2;
const SEQ_LOW = (TPACKET3.seqNum - TPACKET3.blockHeaderOffset) >>> 2;

/** TPACKET_V3 can hand over a block no sooner than its retire timeout: 1 ms is the least it takes. */
const IMMEDIATE_TIMEOUT_MS = 1;
const DLT_EN10MB = 1;

/**
 * The user's program as the socket must run it: Linux keeps VLAN tags beside the data. Where
 * the program cannot be rewritten to read them there, it runs as it is and `seesTags` is false.
 */
function kernelFilter(program: Uint8Array): { program: Uint8Array; seesTags: boolean } {
  const rewritten = forStrippedVlanTags(unpackProgram(program));
  return rewritten ? { program: packProgram(rewritten), seesTags: true } : { program, seesTags: false };
}

function tpacketHandleConstructor(): NativeTpacketHandleConstructor {
  const { TpacketHandle } = native();
  if (TpacketHandle) return TpacketHandle;
  throw new ZbpfError('the tpacket provider needs Linux', { code: 'ERR_ZBPF_NO_PROVIDER', hint: "use provider: 'bpf'" });
}

/**
 * Rejects the options that mean nothing on Linux. `mode` picks FreeBSD's zero-copy or buffered
 * BPF; a TPACKET_V3 ring is always shared with the kernel, so only 'auto' is accepted.
 */
export function checkTpacketOptions(options: Pick<ProviderOptions, 'mode'>): void {
  if (options.mode !== 'auto') {
    throw invalidOption('mode', `'${options.mode}' selects a FreeBSD BPF buffer mode; the tpacket provider always uses a TPACKET_V3 ring, so leave mode unset (or 'auto')`);
  }
}

/**
 * Linux AF_PACKET with a TPACKET_V3 ring (docs/architecture.md §1): the
 * kernel fills the ring's blocks in order and hands each over by setting TP_STATUS_USER in its
 * block_status; we read it in place and give it back by storing TP_STATUS_KERNEL.
 *
 * - flush(): nothing to ask. The kernel itself hands a partly filled block over once it has
 *   been open for tp_retire_blk_tov (the timeoutMs option; 1 ms with immediate), so the
 *   Capture's timer only re-checks the next block.
 * - shutdown(): makes the socket inert (a filter that rejects everything) and returns, in ring
 *   order, every block the kernel handed over and the block it was filling, so nothing
 *   captured before close() is lost. The ring stays mapped until release().
 * - counters(): `received` counts packets the filter accepted (drops included), `dropped`
 *   those that found every block ours, `freezes` the times that began (PACKET_STATISTICS,
 *   accumulated natively).
 * - VLAN tags: Linux keeps a received Ethernet frame's tag beside its data. Filters are
 *   rewritten to read it there (forStrippedVlanTags) and the record cursor writes it back
 *   into the frame, so packets and filters see the frame as it was on the wire.
 */
export class TpacketProvider implements Provider {
  readonly mode = 'tpacket-v3';
  readonly retiresOnItsOwn = true;
  readonly linkType: number;
  readonly bufferSize: number;
  readonly regions: KernelRegions;
  private readonly handle: NativeTpacketHandle;
  private readonly headers: Int32Array[];
  private readonly makeCursor: (bytes: Uint8Array) => PacketCursor;
  /** Blocks lent to the consumer, oldest first (several only after shutdown()). */
  private readonly lent: number[] = [];
  private next = 0;
  /** Low word of seq_num of the last block taken; null before the first. */
  private lastSeq: number | null = null;
  private stopped = false;
  private released = false;
  private totals: [number, number, number] = [0, 0, 0];

  constructor(options: ProviderOptions, onReadable: ReadinessCallback) {
    checkTpacketOptions(options);
    const TpacketHandle = tpacketHandleConstructor();
    const filter = kernelFilter(options.filter);
    this.handle = call(
      () =>
        new TpacketHandle(
          {
            interface: options.interface,
            bufferSize: options.bufferSize,
            snaplen: options.snaplen,
            timeoutMs: options.immediate ? IMMEDIATE_TIMEOUT_MS : options.timeoutMs,
            direction: options.direction,
            promiscuous: options.promiscuous,
            filter: filter.program,
          },
          (error) => onReadable(error && (fromNative(error) as Error)),
        ),
    );
    this.linkType = this.handle.linkType;
    if (!filter.seesTags) this.warnTagsUnseen();
    this.headers = this.handle.headers().map((header) => new Int32Array(header));
    this.regions = { count: this.handle.blockCount, size: this.handle.blockSize };
    this.bufferSize = this.regions.count * this.regions.size;
    const { snaplen } = options;
    const restoresVlanTags = this.linkType === DLT_EN10MB;
    this.makeCursor = (bytes) => new Tpacket3RecordCursor(bytes, snaplen, restoresVlanTags);
  }

  take(): Batch | null {
    if (this.stopped || !this.nextIsOurs()) return null;
    return this.lendNext();
  }

  giveBack(): void {
    const index = this.lent.shift();
    if (index === undefined) return;
    // Detach first (rule 2), then the release store: every read of the block happens before it.
    this.handle.revoke(index);
    if (!this.stopped) Atomics.store(this.headers[index], STATUS, TP_STATUS_KERNEL);
  }

  flush(): void {
    // The kernel retires partly filled blocks on its own timer (see the class comment).
  }

  watch(on: boolean): void {
    if (!this.stopped) call(() => this.handle.watch(on));
  }

  counters(): KernelCounters {
    if (!this.released) this.totals = call(() => this.handle.stats());
    return { received: this.totals[0], dropped: this.totals[1], freezes: this.totals[2] };
  }

  attached(): boolean {
    return !this.stopped && call(() => this.handle.attached());
  }

  setFilter(program: Uint8Array): void {
    const filter = kernelFilter(program);
    call(() => this.handle.setFilter(filter.program));
    if (!filter.seesTags) this.warnTagsUnseen();
  }

  shutdown(): Shutdown {
    const pending: Batch[] = [];
    if (this.stopped) return { batches: pending, error: null };
    this.stopped = true;
    const steps = new TeardownSteps();
    steps.run(() => call(() => this.handle.shutdown()));
    steps.run(() => this.drainRing(pending));
    return { batches: pending, error: steps.error };
  }

  private drainRing(pending: Batch[]): void {
    while (this.nextIsOurs()) pending.push(this.lendNext());
    // Then the block the kernel was filling. Packets that passed the old filter may still be
    // landing in it, so wait them out first. (One that had passed it but not yet claimed its
    // place when we looked is counted by the kernel but not delivered: a window of
    // microseconds, not worth an RCU grace period on every close.)
    if (this.lent.length < this.regions.count && this.isBlockBeingFilled(this.next)) {
      call(() => this.handle.quiesce());
      pending.push(this.lendNext());
    }
  }

  release(): void {
    if (this.released) return;
    this.counters();
    this.stopped = true;
    this.released = true;
    this.lent.length = 0;
    call(() => this.handle.close());
  }

  /** Only Ethernet frames carry the tags; on other links the program's reads mean something else. */
  private warnTagsUnseen(): void {
    if (this.linkType !== DLT_EN10MB) return;
    process.emitWarning('this filter cannot be rewritten to read the VLAN tags Linux takes off received frames: it judges tagged frames without their tag', {
      type: 'ZbpfWarning',
      code: 'ZBPF_VLAN_TAGS_UNSEEN',
      detail:
        'The program has an indexed read with an offset below 4, a fixed read across byte 12 or 16, a read that needs a scratch word while it uses all 16, or a jump the rewrite would stretch past 255 instructions. Remove that, or accept that `vlan` tests and offsets past the tag are judged on the untagged frame (README, "Linux: VLAN tags").',
    });
  }

  /**
   * Whether the kernel handed the next block over and we have not lent it already. Lent blocks
   * are the ones just before `next`, so `next` itself is lent only when every block is. The
   * Atomics load is the acquire that pairs with the kernel's smp_wmb() before TP_STATUS_USER.
   */
  private nextIsOurs(): boolean {
    if (this.lent.length === this.regions.count) return false;
    return (Atomics.load(this.headers[this.next], STATUS) & TP_STATUS_USER) !== 0;
  }

  /**
   * After shutdown(): whether the kernel was filling this block. The block after the last one
   * handed over is the kernel's current block if it was opened after the last block we took
   * (its seq_num is the next one: the kernel numbers blocks as it opens them). Otherwise it
   * still holds packets we already delivered and gave back.
   */
  private isBlockBeingFilled(index: number): boolean {
    const header = this.headers[index];
    if (Atomics.load(header, NUM_PKTS) === 0) return false;
    return this.lastSeq === null || header[SEQ_LOW] === ((this.lastSeq + 1) | 0);
  }

  private lendNext(): Batch {
    const index = this.next;
    this.lastSeq = this.headers[index][SEQ_LOW];
    this.next = (index + 1) % this.regions.count;
    const bytes = new Uint8Array(call(() => this.handle.lend(index)));
    this.lent.push(index);
    return new Batch(bytes, this.makeCursor);
  }
}
