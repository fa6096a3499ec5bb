// The classic pcap format with nanosecond timestamps (magic 0xa1b23c4d), little-endian.
import type { PacketCursor } from '../protocol/cursor';
import type { OutputChunks } from './output-chunks';
import { RecordWriter } from './record-writer';

export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
export const PCAP_FILE_HEADER_SIZE = 24;
export const PCAP_RECORD_HEADER_SIZE = 16;

export class PcapWriter extends RecordWriter {
  constructor(out: OutputChunks, linktype: number, snaplen: number) {
    super(out);
    out.reserve(PCAP_FILE_HEADER_SIZE);
    const { view, fill } = out;
    view.setUint32(fill, PCAP_MAGIC_NANOSECONDS, true);
    view.setUint16(fill + 4, 2, true); // version 2.4
    view.setUint16(fill + 6, 4, true);
    view.setInt32(fill + 8, 0, true); // thiszone: timestamps are UTC
    view.setUint32(fill + 12, 0, true); // sigfigs
    view.setUint32(fill + 16, snaplen, true);
    view.setUint32(fill + 20, linktype, true);
    out.fill += PCAP_FILE_HEADER_SIZE;
  }

  protected recordSize(caplen: number): number {
    return PCAP_RECORD_HEADER_SIZE + caplen;
  }

  protected encode(cursor: PacketCursor, caplen: number, at: number): void {
    const { view, chunk } = this.out;
    // ts_sec is 32 bits in this format (until 2106); pcapng has no such limit.
    view.setUint32(at, cursor.seconds % 0x1_0000_0000, true);
    view.setUint32(at + 4, cursor.nanoseconds, true);
    view.setUint32(at + 8, caplen, true);
    view.setUint32(at + 12, cursor.length, true);
    // One view per packet: JavaScript has no range copy between two buffers without it.
    chunk.set(cursor.bytes.subarray(cursor.offset, cursor.offset + caplen), at + PCAP_RECORD_HEADER_SIZE);
  }

  protected async trailer(): Promise<void> {
    // pcap has no trailer: the file is complete after its last record.
  }
}
