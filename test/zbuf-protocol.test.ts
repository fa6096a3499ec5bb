import { describe, expect, it } from 'vitest';
import { BpfRecordCursor } from '../lib/protocol/bpf-records';
import { ZerocopyBuffers, type ZbufMemory } from '../lib/protocol/zbuf-buffers';
import { buildRecords } from './helpers/bpf-records';

const BUFFER_LENGTH = 4096;

/** Two zero-copy buffers with a hand-driven "kernel", recording what the protocol does. */
class FakeZbufMemory implements ZbufMemory {
  readonly bufferLength = BUFFER_LENGTH;
  readonly buffers = [new ArrayBuffer(BUFFER_LENGTH), new ArrayBuffer(BUFFER_LENGTH)];
  readonly log: string[] = [];
  private lent: (ArrayBuffer | null)[] = [null, null, null, null];
  /** What FIONREAD answers: bd_slen plus bd_hlen while a hold buffer exists. */
  pendingBytes = 0;

  headers(): ArrayBuffer[] {
    return this.buffers; // the protocol only looks at the first 32 bytes
  }

  lend(index: number, offset: number, length: number): ArrayBuffer {
    this.log.push(`lend ${index} ${length}`);
    const view = this.buffers[index % 2].slice(offset, offset + length);
    this.lent[index] = view;
    return view;
  }

  revoke(index: number): void {
    this.log.push(`revoke ${index} user_gen=${this.words(index % 2)[2]}`);
    const view = this.lent[index];
    if (view) structuredClone(view, { transfer: [view] });
    this.lent[index] = null;
  }

  rotate(): number {
    return -1; // the tests below play a kernel whose hold slot is taken
  }

  pending(): number {
    return this.pendingBytes;
  }

  words(index: number): Uint32Array {
    return new Uint32Array(this.buffers[index], 0, 8);
  }

  /** What the kernel does at a handover (docs/freebsd-kernel.md §4): records and kernel_len, then kernel_gen + 1. */
  handOver(index: number, seqs: number[]): void {
    const length = this.store(index, seqs);
    const words = this.words(index);
    words[1] = length;
    words[0] = (words[0] + 1) >>> 0;
  }

  /** What catchpacket() leaves in the store buffer: the records, no hand-over; returns bd_slen. */
  store(index: number, seqs: number[]): number {
    const { bytes, length } = buildRecords(
      seqs.map((seq) => ({ seconds: 1, nanoseconds: seq, data: new Uint8Array([seq]) })),
      26,
      BUFFER_LENGTH - 32,
    );
    new Uint8Array(this.buffers[index], 32).set(bytes);
    return length;
  }
}

const seqsOf = (zbuf: ZerocopyBuffers) => {
  const batch = zbuf.take();
  if (!batch) return null;
  return [...batch].map((p) => p.data[0]);
};

describe('zero-copy buffer protocol', () => {
  it('starts with buffer A and alternates strictly', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    expect(zbuf.take()).toBeNull();
    memory.handOver(0, [1, 2]);
    expect(seqsOf(zbuf)).toEqual([1, 2]);
    zbuf.giveBack();
    memory.handOver(1, [3]);
    expect(seqsOf(zbuf)).toEqual([3]);
    zbuf.giveBack();
    memory.handOver(0, [4]);
    expect(seqsOf(zbuf)).toEqual([4]);
  });

  it('never looks past the next buffer in turn, so packets cannot be reordered', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.handOver(1, [9]); // B looks ready, but A comes first
    expect(zbuf.take()).toBeNull();
  });

  it('delivers both buffers in order when the kernel handed over both', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.handOver(0, [1]);
    memory.handOver(1, [2]);
    expect(seqsOf(zbuf)).toEqual([1]);
    zbuf.giveBack();
    expect(seqsOf(zbuf)).toEqual([2]);
  });

  it('detaches the view before acknowledging, and acknowledges with the observed generation', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.words(0)[0] = 0xffff_ffff; // generations wrap: user_gen 0, kernel_gen about to wrap
    memory.words(0)[2] = 0xffff_ffff;
    memory.handOver(0, [1]);
    const batch = zbuf.take()!;
    expect(memory.words(0)[0]).toBe(0);
    zbuf.giveBack();
    expect(memory.log).toEqual([`lend 0 ${26 + 1}`, 'revoke 0 user_gen=4294967295']);
    expect(memory.words(0)[2]).toBe(0);
    expect(batch.released).toBe(true);
    expect(zbuf.take()).toBeNull(); // B has not been handed over
  });

  it('caps a kernel_len larger than the buffer instead of lending past it', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.handOver(0, [1]);
    memory.words(0)[1] = 0xffff_0000;
    zbuf.take();
    expect(memory.log).toEqual([`lend 0 ${BUFFER_LENGTH - 32}`]);
  });

  it('drains at close what is handed over, in order, without the buffer still out', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.handOver(0, [1]);
    zbuf.take();
    memory.handOver(1, [2]);
    const drained = zbuf.drain();
    expect(drained.map((b) => [...b].map((p) => p.data[0]))).toEqual([[2]]);
  });

  it('lends the store buffer\'s complete records on a tick, then only the rest once it is handed over', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.handOver(0, [1, 2]);
    expect(seqsOf(zbuf)).toEqual([1, 2]);
    const holdLength = memory.words(0)[1];
    zbuf.giveBack(); // acknowledged, but the kernel keeps A as its hold buffer until a packet comes
    memory.pendingBytes = memory.store(1, [3, 4]) + holdLength;
    expect(zbuf.take()).toBeNull();
    zbuf.flush();
    expect(seqsOf(zbuf)).toEqual([3, 4]);
    zbuf.giveBack();
    expect(memory.words(1)[2]).toBe(0); // a store prefix is not the user's to acknowledge
    zbuf.flush();
    expect(zbuf.take()).toBeNull(); // nothing new
    memory.handOver(1, [3, 4, 5]);
    expect(seqsOf(zbuf)).toEqual([5]);
  });

  it('acknowledges a handed-over buffer whose records were all lent already, and moves on', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.pendingBytes = memory.store(0, [1]);
    zbuf.flush();
    expect(seqsOf(zbuf)).toEqual([1]);
    zbuf.giveBack();
    memory.handOver(0, [1]);
    memory.handOver(1, [2]);
    expect(seqsOf(zbuf)).toEqual([2]);
    expect(memory.words(0)[2]).toBe(memory.words(0)[0]);
  });

  it('does not lend from FIONREAD after a buffer was handed over in place while we held the other', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.handOver(0, [1]);
    expect(seqsOf(zbuf)).toEqual([1]);
    memory.handOver(1, [2]); // bpf_zerocopy_buffull(): B is ours while A is still out
    zbuf.giveBack();
    expect(seqsOf(zbuf)).toEqual([2]);
    zbuf.giveBack();
    // The kernel: A hold (acknowledged, not reclaimed), B still its store; FIONREAD = len(B) + len(A).
    memory.pendingBytes = memory.words(1)[1] + memory.words(0)[1];
    zbuf.flush();
    expect(zbuf.take()).toBeNull();
  });

  it('ignores a FIONREAD answer when the next buffer was handed over meanwhile', () => {
    const memory = new FakeZbufMemory();
    const zbuf = new ZerocopyBuffers(memory, (b) => new BpfRecordCursor(b));
    memory.pendingBytes = 4000;
    memory.handOver(0, [1]);
    zbuf.flush();
    expect(seqsOf(zbuf)).toEqual([1]);
    zbuf.giveBack();
    expect(zbuf.take()).toBeNull();
  });
});
