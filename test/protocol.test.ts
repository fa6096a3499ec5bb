import { describe, expect, it } from 'vitest';
import { Batch } from '../lib/batch';
import { BpfRecordCursor, bpfWordAlign } from '../lib/protocol/bpf-records';
import { ZbufHeader } from '../lib/protocol/zbuf-header';
import { buildRecords, type SyntheticPacket } from './helpers/bpf-records';

const packet = (seq: number, size: number, seconds = 1_700_000_000 + seq): SyntheticPacket => ({
  seconds,
  nanoseconds: 123_456_789 + seq,
  data: Uint8Array.from({ length: size }, (_, i) => (seq + i) & 0xff),
});

function walk(bytes: Uint8Array) {
  const out: { offset: number; caplen: number; length: number; seconds: number; ns: number; first: number }[] = [];
  const cursor = new BpfRecordCursor(bytes);
  while (cursor.next()) {
    out.push({ offset: cursor.offset, caplen: cursor.caplen, length: cursor.length, seconds: cursor.seconds, ns: cursor.nanoseconds, first: bytes[cursor.offset] });
  }
  return out;
}

describe('BPF record walking', () => {
  for (const hdrlen of [26, 28, 32]) {
    it(`walks records with bh_hdrlen ${hdrlen} and BPF_WORDALIGN padding`, () => {
      const packets = [packet(1, 60), packet(2, 61), packet(3, 1), packet(4, 1514)];
      const { bytes, length } = buildRecords(packets, hdrlen);
      const records = walk(bytes.subarray(0, length));
      expect(records).toHaveLength(4);
      let at = 0;
      records.forEach((record, i) => {
        expect(record.offset).toBe(at + hdrlen);
        expect(record.caplen).toBe(packets[i].data.length);
        expect(record.first).toBe(packets[i].data[0]);
        expect(record.seconds).toBe(packets[i].seconds);
        expect(record.ns).toBe(packets[i].nanoseconds);
        at += bpfWordAlign(hdrlen + packets[i].data.length);
      });
    });
  }

  it('stops exactly at kernel_len, which excludes the padding after the last record', () => {
    const { bytes, length } = buildRecords([packet(1, 61)], 26);
    expect(length).toBe(26 + 61);
    expect(walk(bytes.subarray(0, length))).toHaveLength(1);
    expect(walk(bytes.subarray(0, 0))).toHaveLength(0);
  });

  it('reads 64-bit seconds past 2038 and wire lengths larger than the capture', () => {
    const late = { ...packet(7, 40, 2 ** 33 + 5), wireLength: 9000 };
    const { bytes, length } = buildRecords([late], 26);
    const [record] = walk(bytes.subarray(0, length));
    expect(record.seconds).toBe(2 ** 33 + 5);
    expect(record.length).toBe(9000);
    const cursor = new BpfRecordCursor(bytes.subarray(0, length));
    cursor.next();
    expect(cursor.timestamp).toBe(BigInt(2 ** 33 + 5) * 1_000_000_000n + 123_456_796n);
  });

  it('walks a buffer whose last record ends on an odd byte', () => {
    const { bytes, length } = buildRecords([{ seconds: 1, nanoseconds: 2, data: new Uint8Array([7]) }], 26);
    const exact = new Uint8Array(bytes.slice(0, length).buffer); // nothing past kernel_len to read by mistake
    expect(walk(exact).map((r) => r.first)).toEqual([7]);
  });

  it('rejects a record whose caplen runs past kernel_len', () => {
    const { bytes, length } = buildRecords([packet(1, 60), packet(2, 60)], 26);
    expect(() => walk(bytes.subarray(0, length - 1))).toThrow(/runs past the end/);
  });

  it('rejects a truncated record header', () => {
    const { bytes, length } = buildRecords([packet(1, 60)], 26);
    const cut = bpfWordAlign(length) + 10; // 10 bytes of a second header
    expect(() => walk(bytes.subarray(0, cut))).toThrow(/record header at 88/);
  });

  it('rejects a bh_hdrlen smaller than the header itself instead of looping', () => {
    const { bytes, length } = buildRecords([packet(1, 60)], 26);
    new DataView(bytes.buffer).setUint16(24, 0, true);
    expect(() => walk(bytes.subarray(0, length))).toThrow(/bh_hdrlen 0/);
  });

  it('rejects a caplen so large that offset arithmetic would overflow the buffer', () => {
    const { bytes, length } = buildRecords([packet(1, 60)], 26);
    new DataView(bytes.buffer).setUint32(16, 0xffff_fff0, true);
    expect(() => walk(bytes.subarray(0, length))).toThrow(/runs past the end/);
  });
});

describe('Batch', () => {
  it('iterates packets, a reused cursor, and copies that outlive the batch', () => {
    const { bytes, length } = buildRecords([packet(1, 60), packet(2, 70)], 26);
    const memory = new ArrayBuffer(length);
    new Uint8Array(memory).set(bytes.subarray(0, length));
    const batch = new Batch(new Uint8Array(memory), (b) => new BpfRecordCursor(b));
    const packets = [...batch];
    expect(packets.map((p) => p.caplen)).toEqual([60, 70]);
    const cursors = new Set();
    expect(batch.forEachPacket((c) => cursors.add(c))).toBe(2);
    expect(cursors.size).toBe(1);
    const kept = packets[1].copy();
    // Detach the memory the way the native layer does when a batch is given back.
    structuredClone(memory, { transfer: [memory] });
    expect(batch.released).toBe(true);
    expect(packets[1].data.length).toBe(0);
    expect([...batch]).toHaveLength(0);
    expect(kept.length).toBe(70);
    expect(kept[0]).toBe(2);
  });
});

describe('zero-copy buffer header', () => {
  function header(kernelGen: number, userGen: number, kernelLen = 100) {
    const memory = new ArrayBuffer(32);
    const words = new Uint32Array(memory);
    words[0] = kernelGen;
    words[1] = kernelLen;
    words[2] = userGen;
    return { zbuf: new ZbufHeader(memory), words };
  }

  it('is ours exactly when kernel_gen differs from user_gen', () => {
    expect(header(0, 0).zbuf.handedOver()).toBeNull();
    expect(header(1, 0).zbuf.handedOver()).toBe(1);
    expect(header(5, 5).zbuf.handedOver()).toBeNull();
  });

  it('compares by equality across the 2^32 wrap', () => {
    const { zbuf, words } = header(0, 0xffff_ffff);
    const generation = zbuf.handedOver();
    expect(generation).not.toBeNull();
    zbuf.giveBack(generation!);
    expect(words[2]).toBe(0);
    expect(zbuf.handedOver()).toBeNull();
    words[0] = 1; // the kernel's next handover after the wrap
    expect(zbuf.handedOver()).toBe(1);
  });

  it('gives back the generation it observed, not user_gen + 1', () => {
    const { zbuf, words } = header(7, 3);
    zbuf.giveBack(zbuf.handedOver()!);
    expect(words[2]).toBe(7);
  });

  it('reads kernel_len as an unsigned byte count', () => {
    expect(header(1, 0, 4064).zbuf.kernelLength()).toBe(4064);
  });
});
