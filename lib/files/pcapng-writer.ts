// pcapng (draft-ietf-opsawg-pcapng): a section header, one interface description with
// if_tsresol = 9 (nanoseconds), an enhanced packet block per packet, and at close an
// interface statistics block with what the kernel received and dropped. Little-endian.
import os from 'node:os';
import type { PacketCursor } from '../protocol/cursor';
import { zbpfVersion } from '../version';
import type { OutputChunks } from './output-chunks';
import { RecordWriter, type WriterStats } from './record-writer';
import { setNanosecondTicks } from './timestamps';

export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 1;
export const BLOCK_PB = 2;
export const BLOCK_SPB = 3;
export const BLOCK_ISB = 5;
export const BLOCK_EPB = 6;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
export const EPB_HEADER_SIZE = 28;
export const OPT_ENDOFOPT = 0;
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;
export const ISB_STARTTIME = 2;
export const ISB_ENDTIME = 3;
export const ISB_IFRECV = 4;
export const ISB_IFDROP = 5;
const TSRESOL_NANOSECONDS = 9;

const pad4 = (n: number): number => (n + 3) & ~3;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

type OptionValue = Uint8Array | ((view: DataView, at: number) => void);
interface Option {
  code: number;
  length: number;
  value: OptionValue;
}

const stringOption = (code: number, text: string): Option => {
  const bytes = utf8(text);
  return { code, length: bytes.length, value: bytes };
};
const u64Option = (code: number, value: number): Option => ({
  code,
  length: 8,
  value: (view, at) => {
    view.setUint32(at, value % 0x1_0000_0000, true);
    view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
  },
});
const timeOption = (code: number, ms: number): Option => ({
  code,
  length: 8,
  value: (view, at) => setNanosecondTicks(view, at, Math.floor(ms / 1000), (ms % 1000) * 1_000_000),
});

const optionsSize = (options: Option[]): number => options.reduce((sum, o) => sum + 4 + pad4(o.length), 4);

const blockSize = (bodySize: number, options: Option[]): number => 8 + bodySize + optionsSize(options) + 4;

/**
 * Writes a block (room for it reserved): type, total length, the fixed body `body` writes,
 * the options, total length.
 */
function writeBlock(out: OutputChunks, type: number, bodySize: number, options: Option[], body: (view: DataView, at: number) => void): void {
  const total = blockSize(bodySize, options);
  const { view, chunk, fill: start } = out;
  chunk.fill(0, start, start + total);
  view.setUint32(start, type, true);
  view.setUint32(start + 4, total, true);
  body(view, start + 8);
  let at = start + 8 + bodySize;
  for (const option of options) {
    view.setUint16(at, option.code, true);
    view.setUint16(at + 2, option.length, true);
    if (option.value instanceof Uint8Array) chunk.set(option.value, at + 4);
    else option.value(view, at + 4);
    at += 4 + pad4(option.length);
  }
  view.setUint32(at, OPT_ENDOFOPT, true); // code 0, length 0
  view.setUint32(at + 4, total, true);
  out.fill += total;
}

export class PcapngWriter extends RecordWriter {
  private readonly openedMs = Date.now();

  constructor(out: OutputChunks, linktype: number, snaplen: number, interfaceName: string | undefined) {
    super(out);
    // A fresh output's first chunk always has room for these two small blocks.
    const shbOptions = [
      stringOption(SHB_HARDWARE, os.arch()),
      stringOption(SHB_OS, `${os.type()} ${os.release()}`),
      stringOption(SHB_USERAPPL, `zbpf ${zbpfVersion()}`),
    ];
    writeBlock(out, BLOCK_SHB, 16, shbOptions, (view, at) => {
      view.setUint32(at, BYTE_ORDER_MAGIC, true);
      view.setUint16(at + 4, 1, true); // version 1.0
      view.setUint16(at + 6, 0, true);
      view.setInt32(at + 8, -1, true); // section length: not given
      view.setInt32(at + 12, -1, true);
    });
    const idbOptions: Option[] = [{ code: IF_TSRESOL, length: 1, value: Uint8Array.of(TSRESOL_NANOSECONDS) }];
    if (interfaceName) idbOptions.unshift(stringOption(IF_NAME, interfaceName));
    writeBlock(out, BLOCK_IDB, 8, idbOptions, (view, at) => {
      view.setUint16(at, linktype, true);
      view.setUint32(at + 4, snaplen, true);
    });
  }

  protected recordSize(caplen: number): number {
    return EPB_HEADER_SIZE + pad4(caplen) + 4; // no options
  }

  protected encode(cursor: PacketCursor, caplen: number, at: number): void {
    const { view, chunk } = this.out;
    const total = this.recordSize(caplen);
    view.setUint32(at, BLOCK_EPB, true);
    view.setUint32(at + 4, total, true);
    view.setUint32(at + 8, 0, true); // interface 0
    setNanosecondTicks(view, at + 12, cursor.seconds, cursor.nanoseconds);
    view.setUint32(at + 20, caplen, true);
    view.setUint32(at + 24, cursor.length, true);
    // One view per packet: JavaScript has no range copy between two buffers without it.
    chunk.set(cursor.bytes.subarray(cursor.offset, cursor.offset + caplen), at + EPB_HEADER_SIZE);
    chunk.fill(0, at + EPB_HEADER_SIZE + caplen, at + total - 4); // padding
    view.setUint32(at + total - 4, total, true);
  }

  protected async trailer(stats: WriterStats | undefined): Promise<void> {
    const closedMs = Date.now();
    const options = [timeOption(ISB_STARTTIME, this.openedMs), timeOption(ISB_ENDTIME, closedMs)];
    if (stats) options.push(u64Option(ISB_IFRECV, stats.received), u64Option(ISB_IFDROP, stats.dropped));
    await this.room(blockSize(12, options));
    writeBlock(this.out, BLOCK_ISB, 12, options, (view, at) => {
      view.setUint32(at, 0, true); // interface 0
      setNanosecondTicks(view, at + 4, Math.floor(closedMs / 1000), (closedMs % 1000) * 1_000_000);
    });
  }
}
