// TPACKET_V3 blocks built by hand: the record walker's chain following, bounds checks and
// corrupt-block errors, without a kernel. The layout constants are checked against the
// kernel headers the addon was compiled with.
import { describe, expect, it } from 'vitest';
import { Batch } from '../lib/batch';
import { ZbpfError } from '../lib/errors';
import { native } from '../lib/native';
import { TPACKET3, Tpacket3RecordCursor } from '../lib/protocol/tpacket3-records';
import { checkTpacketOptions } from '../lib/providers/tpacket';

interface SyntheticPacket {
  seconds: number;
  nanoseconds: number;
  data: Uint8Array;
  length?: number; // on the wire; defaults to data.length
  packetType?: number;
  vlanTci?: number;
  vlanTpid?: number;
}

const BLOCK_SIZE = 4096;
const MAC = 82; // where the kernel puts an Ethernet header: the IP header 16-aligned at 96
const align8 = (n: number) => (n + 7) & ~7;

/** A block as the kernel leaves it: descriptor, then records chained by tp_next_offset. */
function buildBlock(packets: SyntheticPacket[], { blockSize = BLOCK_SIZE, lastNextOffset = 0 } = {}) {
  const bytes = new Uint8Array(blockSize);
  const view = new DataView(bytes.buffer);
  const first = TPACKET3.blockDescSize;
  const offsets: number[] = [];
  let at = first;
  packets.forEach((packet, i) => {
    offsets.push(at);
    const used = align8(MAC + packet.data.length);
    const last = i === packets.length - 1;
    view.setUint32(at + TPACKET3.nextOffset, last ? lastNextOffset : used, true);
    view.setUint32(at + TPACKET3.sec, packet.seconds, true);
    view.setUint32(at + TPACKET3.nsec, packet.nanoseconds, true);
    view.setUint32(at + TPACKET3.snaplen, packet.data.length, true);
    view.setUint32(at + TPACKET3.len, packet.length ?? packet.data.length, true);
    const tagged = packet.vlanTci !== undefined;
    view.setUint32(at + TPACKET3.status, tagged ? (1 << 4) | (packet.vlanTpid ? 1 << 6 : 0) : 0, true);
    view.setUint16(at + TPACKET3.mac, MAC, true);
    view.setUint16(at + TPACKET3.mac + 2, MAC + 14, true);
    if (tagged) view.setUint32(at + TPACKET3.vlanTci, packet.vlanTci!, true);
    if (packet.vlanTpid) view.setUint16(at + TPACKET3.vlanTpid, packet.vlanTpid, true);
    bytes[at + TPACKET3.pktType] = packet.packetType ?? 0;
    bytes.set(packet.data, at + MAC);
    at += used;
  });
  view.setUint32(0, 2, true); // version: TPACKET_V3
  view.setUint32(4, 16, true); // offset_to_priv
  view.setUint32(8, 1, true); // block_status: TP_STATUS_USER
  view.setUint32(TPACKET3.numPkts, packets.length, true);
  view.setUint32(TPACKET3.offsetToFirstPkt, first, true);
  view.setUint32(TPACKET3.blkLen, at, true);
  view.setUint32(TPACKET3.seqNum, 1, true);
  return { bytes, view, offsets, blkLen: at };
}

const packet = (seq: number, size: number): SyntheticPacket => ({
  seconds: 1_700_000_000 + seq,
  nanoseconds: 999_999_000 + seq,
  data: Uint8Array.from({ length: size }, (_, i) => (seq * 7 + i) & 0xff),
});

function walk(bytes: Uint8Array) {
  const cursor = new Tpacket3RecordCursor(bytes);
  const out: { offset: number; caplen: number; length: number; seconds: number; ns: number; data: Uint8Array; type: number }[] = [];
  while (cursor.next()) {
    out.push({ offset: cursor.offset, caplen: cursor.caplen, length: cursor.length, seconds: cursor.seconds, ns: cursor.nanoseconds, data: cursor.copy(), type: cursor.packetType });
  }
  return out;
}

function corruption(bytes: Uint8Array): ZbpfError {
  try {
    walk(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(ZbpfError);
    expect((error as ZbpfError).code).toBe('ERR_ZBPF_CORRUPT_RECORD');
    return error as ZbpfError;
  }
  throw new Error('the walk accepted a corrupt block');
}

describe('TPACKET_V3 block walking', () => {
  it('follows tp_next_offset through every record, reading each in place', () => {
    const packets = [packet(1, 60), packet(2, 61), packet(3, 1), packet(4, 1514), packet(5, 64)];
    packets[1].length = 9000; // cut by the snap length
    packets[3].packetType = 4;
    const { bytes, offsets } = buildBlock(packets, { blockSize: 8192 });
    const records = walk(bytes);
    expect(records).toHaveLength(packets.length);
    records.forEach((record, i) => {
      expect(record.offset).toBe(offsets[i] + MAC);
      expect(record.caplen).toBe(packets[i].data.length);
      expect(record.length).toBe(packets[i].length ?? packets[i].data.length);
      expect(record.seconds).toBe(packets[i].seconds);
      expect(record.ns).toBe(packets[i].nanoseconds);
      expect(record.data).toEqual(packets[i].data);
      expect(record.type).toBe(packets[i].packetType ?? 0);
    });
  });

  it('stops after num_pkts even when the last record points further (a block still being filled)', () => {
    const { bytes, blkLen } = buildBlock([packet(1, 60), packet(2, 60)], { lastNextOffset: 152 });
    expect(blkLen + 152).toBeLessThan(BLOCK_SIZE);
    expect(walk(bytes)).toHaveLength(2);
  });

  it('never reports more than the snap length, and walks on past a longer record', () => {
    // What a filter-less socket gets for a GSO super-packet longer than the snap length.
    const packets = [packet(1, 3000), packet(2, 60)];
    const cursor = new Tpacket3RecordCursor(buildBlock(packets, { blockSize: 8192 }).bytes, 2048);
    expect(cursor.next()).toBe(true);
    expect([cursor.caplen, cursor.length]).toEqual([2048, 3000]);
    expect(cursor.copy()).toEqual(packets[0].data.subarray(0, 2048));
    expect(cursor.next()).toBe(true);
    expect([cursor.caplen, cursor.length]).toEqual([60, 60]);
    expect(cursor.copy()).toEqual(packets[1].data);
  });

  it('reads an empty block as no packets', () => {
    expect(walk(buildBlock([]).bytes)).toEqual([]);
  });

  it('reads seconds as unsigned 32-bit (good until 2106) and keeps nanoseconds', () => {
    const late = { seconds: 0xffff_fff0, nanoseconds: 123_456_789, data: new Uint8Array(60) };
    const cursor = new Tpacket3RecordCursor(buildBlock([late]).bytes);
    expect(cursor.next()).toBe(true);
    expect(cursor.seconds).toBe(0xffff_fff0);
    expect(cursor.timestamp).toBe(0xffff_fff0n * 1_000_000_000n + 123_456_789n);
  });

  describe('VLAN tags the kernel took off go back where the wire had them', () => {
    const frame = packet(1, 60);
    const wire = (tpid: number) => Uint8Array.from([...frame.data.subarray(0, 12), tpid >>> 8, tpid & 0xff, 0xa0, 0x64, ...frame.data.subarray(12)]);

    it('802.1Q (TPID not reported) and 802.1ad (TPID reported); caplen and length grow by 4', () => {
      const q = { ...frame, vlanTci: 0xa064 };
      const ad = { ...frame, vlanTci: 0xa064, vlanTpid: 0x88a8 };
      const records = walk(buildBlock([q, ad, packet(2, 60)]).bytes);
      expect(records.map((r) => [r.caplen, r.length])).toEqual([[64, 64], [64, 64], [60, 60]]);
      expect(Buffer.from(records[0].data).equals(Buffer.from(wire(0x8100)))).toBe(true);
      expect(Buffer.from(records[1].data).equals(Buffer.from(wire(0x88a8)))).toBe(true);
      expect(Buffer.from(records[2].data).equals(Buffer.from(packet(2, 60).data))).toBe(true);
    });

    it('walking the block again moves nothing twice', () => {
      const { bytes } = buildBlock([{ ...frame, vlanTci: 0xa064 }]);
      const first = walk(bytes);
      expect(walk(bytes)).toEqual(first);
      expect(Buffer.from(first[0].data).equals(Buffer.from(wire(0x8100)))).toBe(true);
    });

    it('the snap length still bounds caplen', () => {
      const cursor = new Tpacket3RecordCursor(buildBlock([{ ...frame, vlanTci: 0xa064 }]).bytes, 62);
      expect(cursor.next()).toBe(true);
      expect([cursor.caplen, cursor.length]).toEqual([62, 64]);
      expect(Buffer.from(cursor.copy()).equals(Buffer.from(wire(0x8100).subarray(0, 62)))).toBe(true);
    });

    it('left alone when the link is not Ethernet', () => {
      const cursor = new Tpacket3RecordCursor(buildBlock([{ ...frame, vlanTci: 0xa064 }]).bytes, undefined, false);
      expect(cursor.next()).toBe(true);
      expect(Buffer.from(cursor.copy()).equals(Buffer.from(frame.data))).toBe(true);
    });

    it('a record with no headroom before tp_mac is corrupt', () => {
      const { bytes, view, offsets } = buildBlock([{ ...frame, vlanTci: 0xa064 }]);
      view.setUint16(offsets[0] + TPACKET3.mac, TPACKET3.hdrLen + 2, true);
      expect(corruption(bytes).message).toMatch(/no room to put its VLAN tag back/);
    });
  });

  it('reads a given-back (detached) block as empty', () => {
    const { bytes } = buildBlock([packet(1, 60)]);
    const batch = new Batch(new Uint8Array(structuredClone(bytes.buffer, { transfer: [bytes.buffer] })), (b) => new Tpacket3RecordCursor(b));
    const cursor = batch.cursor();
    structuredClone(batch.bytes.buffer, { transfer: [batch.bytes.buffer as ArrayBuffer] }); // detaches
    expect(batch.released).toBe(true);
    expect(cursor.next()).toBe(false);
    expect(batch.count()).toBe(0);
  });

  it('works through Batch: count, iteration, one reused cursor', () => {
    const packets = [packet(1, 60), packet(2, 70), packet(3, 80)];
    const batch = new Batch(buildBlock(packets).bytes, (b) => new Tpacket3RecordCursor(b));
    expect(batch.count()).toBe(3);
    expect([...batch].map((p) => p.caplen)).toEqual([60, 70, 80]);
    const cursors = new Set<unknown>();
    expect(batch.forEachPacket((c) => cursors.add(c))).toBe(3);
    expect(cursors.size).toBe(1);
  });

  describe('corrupt blocks are errors, never out-of-bounds reads or endless loops', () => {
    const two = () => buildBlock([packet(1, 60), packet(2, 60)]);

    it('a block too small for its descriptor', () => {
      expect(corruption(new Uint8Array(40)).message).toMatch(/descriptor/);
    });

    it('blk_len larger than the block', () => {
      const { bytes, view } = two();
      view.setUint32(TPACKET3.blkLen, BLOCK_SIZE + 8, true);
      expect(corruption(bytes).message).toMatch(/blk_len/);
    });

    it('offset_to_first_pkt inside the descriptor', () => {
      const { bytes, view } = two();
      view.setUint32(TPACKET3.offsetToFirstPkt, 8, true);
      expect(corruption(bytes).message).toMatch(/offset_to_first_pkt/);
    });

    it('a record header past blk_len', () => {
      const { bytes, view, offsets } = two();
      view.setUint32(TPACKET3.blkLen, offsets[1] + 20, true);
      expect(corruption(bytes).message).toMatch(/runs past blk_len/);
    });

    it('packet bytes past blk_len', () => {
      const { bytes, view, offsets } = two();
      view.setUint32(offsets[1] + TPACKET3.snaplen, 4000, true);
      expect(corruption(bytes).message).toMatch(/tp_snaplen 4000/);
    });

    it('tp_mac pointing into the record header', () => {
      const { bytes, view, offsets } = two();
      view.setUint16(offsets[0] + TPACKET3.mac, 20, true);
      expect(corruption(bytes).message).toMatch(/tp_mac 20/);
    });

    it('tp_next_offset of 0 in the middle of the chain (would loop forever)', () => {
      const { bytes, view, offsets } = two();
      view.setUint32(offsets[0] + TPACKET3.nextOffset, 0, true);
      expect(corruption(bytes).message).toMatch(/tp_next_offset 0/);
    });

    it('tp_next_offset into the packet it follows', () => {
      const { bytes, view, offsets } = two();
      view.setUint32(offsets[0] + TPACKET3.nextOffset, 72, true);
      expect(corruption(bytes).message).toMatch(/tp_next_offset 72/);
    });

    it('tp_next_offset beyond blk_len', () => {
      const { bytes, view, offsets } = two();
      view.setUint32(offsets[0] + TPACKET3.nextOffset, 1 << 20, true);
      expect(corruption(bytes).message).toMatch(/goes nowhere valid/);
    });

    it('a misaligned record', () => {
      const { bytes, view, offsets } = two();
      view.setUint32(offsets[0] + TPACKET3.nextOffset, 146, true);
      expect(corruption(bytes).message).toMatch(/misaligned/);
    });

    it('num_pkts larger than the chain', () => {
      const { bytes, view } = two();
      view.setUint32(TPACKET3.numPkts, 0xffff_ffff, true);
      expect(corruption(bytes).message).toMatch(/tp_next_offset 0/);
    });
  });
});

describe('tpacket provider options', () => {
  it("rejects FreeBSD's BPF buffer modes, naming the option", () => {
    for (const mode of ['zerocopy', 'buffered'] as const) {
      let error: unknown;
      try {
        checkTpacketOptions({ mode });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ZbpfError);
      expect(error).toMatchObject({ code: 'ERR_ZBPF_INVALID_OPTION', message: expect.stringMatching(/option mode/) });
    }
    expect(() => checkTpacketOptions({ mode: 'auto' })).not.toThrow();
  });
});

describe.skipIf(process.platform !== 'linux')('TPACKET_V3 layout', () => {
  it('matches the kernel headers the addon was built against', () => {
    const { TpacketHandle } = native() as unknown as { TpacketHandle: { layout: Record<string, number> } };
    expect(TpacketHandle.layout).toEqual({ ...TPACKET3 });
  });
});
