// Capture files: what zbpf writes, Wireshark reads identically, and what zbpf reads back (its
// own files and other writers' variants) comes through the same Batch API as a live capture.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCaptureWriter, openCaptureFile, ZbpfError, type CaptureFileFormat } from '../lib/index';
import { epochText, md5, samplePackets, syntheticBatch, type SyntheticPacket } from './helpers/batches';
import { capinfos, hasTool, tsharkRead } from './helpers/tshark';

const dir = mkdtempSync(path.join(os.tmpdir(), 'zbpf-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);
const haveTshark = hasTool('tshark');

interface ReadPacket {
  seconds: number;
  nanoseconds: number;
  caplen: number;
  length: number;
  md5: string;
}

async function readAll(target: string, chunkSize?: number): Promise<{ packets: ReadPacket[]; batches: number; linkType: number; snaplen: number; dropped: number }> {
  const capture = await openCaptureFile(target, { chunkSize });
  const packets: ReadPacket[] = [];
  await capture.forEachPacket((c) => {
    packets.push({ seconds: c.seconds, nanoseconds: c.nanoseconds, caplen: c.caplen, length: c.length, md5: md5(c.data) });
  });
  const stats = capture.stats();
  expect(stats.received).toBe(packets.length);
  return { packets, batches: stats.batches, linkType: capture.linkType, snaplen: capture.snaplen, dropped: stats.dropped };
}

const expected = (packets: SyntheticPacket[]) =>
  packets.map((p) => ({ seconds: p.seconds, nanoseconds: p.nanoseconds, caplen: p.data.length, length: p.wireLength ?? p.data.length, md5: md5(p.data) }));

async function writeSample(name: string, format: CaptureFileFormat, packets: SyntheticPacket[], perBatch = 7): Promise<string> {
  const target = file(name);
  // Small chunks: the writer must rotate, wait for the file (backpressure) and grow for the 9000-byte frames.
  const writer = await createCaptureWriter(target, { format, linkType: 1, snaplen: 65535, interface: 'veth-test', chunkSize: 4096 });
  for (let i = 0; i < packets.length; i += perBatch) {
    const pending = writer.write(syntheticBatch(packets.slice(i, i + perBatch)));
    if (pending !== true) await pending;
  }
  expect(writer.packets).toBe(packets.length);
  await writer.close({ received: packets.length + 5, dropped: 5 });
  return target;
}

describe.each(['pcap', 'pcapng'] as const)('%s files', (format) => {
  const packets = samplePackets(200);

  it('reads back exactly what was written: timestamps (ns), lengths, bytes', async () => {
    const target = await writeSample(`round.${format}`, format, packets);
    const back = await readAll(target, 1000); // smaller than a record: the reader must grow
    expect(back.linkType).toBe(1);
    expect(back.snaplen).toBe(65535);
    expect(back.packets).toEqual(expected(packets));
    expect(back.batches).toBeGreaterThan(1);
  });

  it.skipIf(!haveTshark)('tshark agrees on count, timestamps, lengths and bytes', async () => {
    const target = await writeSample(`tshark.${format}`, format, packets);
    const seen = tsharkRead(target);
    expect(seen).toEqual(packets.map((p) => ({ time: epochText(p.seconds, p.nanoseconds), length: p.wireLength ?? p.data.length, caplen: p.data.length, md5: md5(p.data) })));
  });

  it('keeps every whole record when the file is cut short, then says it was', async () => {
    const target = await writeSample(`cut.${format}`, format, packets.slice(0, 10));
    const bytes = readFileSync(target);
    // pcapng: past the statistics block (its length is the file's last word), into the last packet.
    const trailer = format === 'pcapng' ? bytes.readUInt32LE(bytes.length - 4) : 0;
    truncateSync(target, bytes.length - trailer - 10);
    const capture = await openCaptureFile(target);
    let count = 0;
    const reading = capture.forEachPacket(() => count++);
    await expect(reading).rejects.toMatchObject({ code: 'ERR_ZBPF_TRUNCATED_FILE' });
    expect(count).toBe(9);
  });
});

describe('pcapng specifics', () => {
  it.skipIf(!haveTshark)('records the interface, nanosecond resolution and the kernel counters', async () => {
    const target = await writeSample('stats.pcapng', 'pcapng', samplePackets(3));
    const info = capinfos(target);
    expect(info).toMatch(/Time precision = nanoseconds \(9\)/);
    expect(info).toMatch(/Number of stat entries = 1/);
    expect(info).toMatch(/Name = veth-test/);
    const back = await readAll(target);
    expect(back.dropped).toBe(5);
  });

  it('carries 64-bit seconds past 2106', async () => {
    const late: SyntheticPacket[] = [{ seconds: 2 ** 33 + 5, nanoseconds: 999_999_999, data: new Uint8Array(60) }];
    const target = await writeSample('late.pcapng', 'pcapng', late);
    expect((await readAll(target)).packets).toEqual(expected(late));
    if (haveTshark) expect(tsharkRead(target)[0].time).toBe(epochText(2 ** 33 + 5, 999_999_999));
  });
});

describe('link types', () => {
  it.each([
    [0, 0], // DLT_NULL: BSD loopback
    [1, 1], // DLT_EN10MB
    [12, 101], // DLT_RAW -> LINKTYPE_RAW
    [113, 113], // DLT_LINUX_SLL
  ])('DLT %i is written as LINKTYPE %i and read back as that DLT', async (dlt, linktype) => {
    for (const format of ['pcap', 'pcapng'] as const) {
      const target = file(`dlt${dlt}.${format}`);
      const writer = await createCaptureWriter(target, { format, linkType: dlt, snaplen: 1500 });
      await writer.close();
      const bytes = readFileSync(target);
      expect(format === 'pcap' ? bytes.readUInt32LE(20) : bytes.readUInt16LE(bytes.readUInt32LE(4) + 8)).toBe(linktype);
      const back = await openCaptureFile(target);
      expect(back.linkType).toBe(dlt);
      back.close();
    }
  });
});

/** Hand-made files in the variants other writers produce. */
function pcapBytes(littleEndian: boolean, magic: number, packets: SyntheticPacket[], fractionOf: (ns: number) => number): Buffer {
  const size = 24 + packets.reduce((sum, p) => sum + 16 + p.data.length, 0);
  const bytes = Buffer.alloc(size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, size);
  view.setUint32(0, magic, littleEndian);
  view.setUint16(4, 2, littleEndian);
  view.setUint16(6, 4, littleEndian);
  view.setUint32(16, 65535, littleEndian);
  view.setUint32(20, 1, littleEndian);
  let at = 24;
  for (const p of packets) {
    view.setUint32(at, p.seconds, littleEndian);
    view.setUint32(at + 4, fractionOf(p.nanoseconds), littleEndian);
    view.setUint32(at + 8, p.data.length, littleEndian);
    view.setUint32(at + 12, p.wireLength ?? p.data.length, littleEndian);
    bytes.set(p.data, at + 16);
    at += 16 + p.data.length;
  }
  return bytes;
}

/** A big-endian pcapng section: SHB, an IDB without if_tsresol (so microseconds), EPBs. */
function bigEndianPcapng(packets: SyntheticPacket[]): Buffer {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer): void => {
    const total = 12 + body.length;
    const b = Buffer.alloc(total);
    b.writeUInt32BE(type, 0);
    b.writeUInt32BE(total, 4);
    body.copy(b, 8);
    b.writeUInt32BE(total, total - 4);
    blocks.push(b);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32BE(0x1a2b3c4d, 0);
  shb.writeUInt16BE(1, 4);
  shb.writeBigInt64BE(-1n, 8);
  block(0x0a0d0d0a, shb);
  const idb = Buffer.alloc(8);
  idb.writeUInt16BE(1, 0);
  idb.writeUInt32BE(65535, 4);
  block(1, idb);
  for (const p of packets) {
    const padded = (p.data.length + 3) & ~3;
    const epb = Buffer.alloc(20 + padded);
    const ticks = BigInt(p.seconds) * 1_000_000n + BigInt(Math.floor(p.nanoseconds / 1000));
    epb.writeUInt32BE(0, 0);
    epb.writeUInt32BE(Number(ticks >> 32n), 4);
    epb.writeUInt32BE(Number(ticks & 0xffffffffn), 8);
    epb.writeUInt32BE(p.data.length, 12);
    epb.writeUInt32BE(p.wireLength ?? p.data.length, 16);
    Buffer.from(p.data).copy(epb, 20);
    block(6, epb);
  }
  return Buffer.concat(blocks);
}

describe('reading other writers\' variants', () => {
  const packets = samplePackets(20);
  const inMicroseconds = expected(packets).map((p) => ({ ...p, nanoseconds: Math.floor(p.nanoseconds / 1000) * 1000 }));
  const variants: Array<[string, Buffer, typeof inMicroseconds]> = [
    ['pcap, microseconds, little-endian', pcapBytes(true, 0xa1b2c3d4, packets, (ns) => Math.floor(ns / 1000)), inMicroseconds],
    ['pcap, microseconds, big-endian', pcapBytes(false, 0xa1b2c3d4, packets, (ns) => Math.floor(ns / 1000)), inMicroseconds],
    ['pcap, nanoseconds, big-endian', pcapBytes(false, 0xa1b23c4d, packets, (ns) => ns), expected(packets)],
    ['pcapng, big-endian, default microsecond resolution', bigEndianPcapng(packets), inMicroseconds],
  ];

  it.each(variants)('%s', async (name, bytes, want) => {
    const target = file(`${name.replace(/[^a-z]+/g, '-')}.cap`);
    writeFileSync(target, bytes);
    expect((await readAll(target, 512)).packets).toEqual(want);
    if (haveTshark) expect(tsharkRead(target).map((p) => p.md5)).toEqual(want.map((p) => p.md5));
  });
});

describe('the Batch API over files', () => {
  it('revokes a batch\'s views once the loop moves on, like a live capture', async () => {
    const target = await writeSample('revoke.pcap', 'pcap', samplePackets(100));
    const capture = await openCaptureFile(target, { chunkSize: 2048 });
    let kept: Uint8Array | null = null;
    let batches = 0;
    for await (const batch of capture) {
      batches++;
      if (kept) {
        expect(kept.byteLength).toBe(0);
        break;
      }
      const first = batch[Symbol.iterator]().next();
      kept = first.done ? null : first.value.data;
      expect(kept?.byteLength).toBeGreaterThan(0);
    }
    expect(batches).toBe(2);
  });
});

describe('errors a user can cause', () => {
  it('names a file that is not a capture file', async () => {
    const target = file('notes.txt');
    writeFileSync(target, 'hello, this is text and not packets\n');
    await expect(openCaptureFile(target)).rejects.toMatchObject({ code: 'ERR_ZBPF_NOT_A_CAPTURE_FILE' });
  });

  it('says a missing file is missing', async () => {
    const error = await openCaptureFile(file('absent.pcap')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZbpfError);
    expect(error).toMatchObject({ code: 'ENOENT' });
  });

  it('says why a file cannot be written, with what to do', async () => {
    const error = await createCaptureWriter(file('no/such/dir/out.pcap'), { linkType: 1, snaplen: 100 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZbpfError);
    expect((error as ZbpfError).hint).toMatch(/directory does not exist/);
  });
});
