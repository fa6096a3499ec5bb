// Classic pcap records: a 16-byte header (ts_sec, ts_usec or ts_nsec, incl_len, orig_len) in
// the file's byte order, then incl_len bytes of packet.
import { dltFromLinktype } from './linktype';
import { PacketCursor } from '../protocol/cursor';
import { corruptFile, MAX_RECORD_SIZE, type FileFormat, type Frame } from './file-format';
import { PCAP_FILE_HEADER_SIZE, PCAP_MAGIC_MICROSECONDS, PCAP_MAGIC_NANOSECONDS, PCAP_RECORD_HEADER_SIZE } from './pcap-writer';

export class PcapRecordCursor extends PacketCursor {
  private readonly view: DataView | null;
  private nextRecord = 0;

  constructor(
    bytes: Uint8Array,
    private readonly littleEndian: boolean,
    /** Nanoseconds per unit of the fraction field: 1 (ns magic) or 1000 (µs magic). */
    private readonly fractionScale: number,
  ) {
    super(bytes);
    this.view = bytes.byteLength === 0 ? null : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  next(): boolean {
    const at = this.nextRecord;
    const end = this.bytes.byteLength; // 0 once the batch is given back: reads as empty
    if (at >= end || !this.view) return false;
    if (at + PCAP_RECORD_HEADER_SIZE > end) throw corruptFile(`record header at ${at} runs past the end of the batch`);
    const view = this.view;
    const caplen = view.getUint32(at + 8, this.littleEndian);
    if (at + PCAP_RECORD_HEADER_SIZE + caplen > end) throw corruptFile(`record at ${at} (caplen ${caplen}) runs past the end of the batch`);
    this.seconds = view.getUint32(at, this.littleEndian);
    this.nanoseconds = view.getUint32(at + 4, this.littleEndian) * this.fractionScale;
    this.caplen = caplen;
    this.length = view.getUint32(at + 12, this.littleEndian);
    this.offset = at + PCAP_RECORD_HEADER_SIZE;
    this.nextRecord = this.offset + caplen;
    return true;
  }
}

/** The 24-byte file header, or null if these bytes do not start a pcap file. */
function readHeader(bytes: Uint8Array): { littleEndian: boolean; fractionScale: number; snaplen: number; linktype: number } | null {
  if (bytes.byteLength < PCAP_FILE_HEADER_SIZE) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, PCAP_FILE_HEADER_SIZE);
  for (const littleEndian of [true, false]) {
    const magic = view.getUint32(0, littleEndian);
    if (magic !== PCAP_MAGIC_MICROSECONDS && magic !== PCAP_MAGIC_NANOSECONDS) continue;
    return {
      littleEndian,
      fractionScale: magic === PCAP_MAGIC_NANOSECONDS ? 1 : 1000,
      snaplen: view.getUint32(16, littleEndian),
      // The upper bits carry the FCS length and flags (pcap format, LinkType field).
      linktype: view.getUint32(20, littleEndian) & 0x0fff_ffff,
    };
  }
  return null;
}

export class PcapFormat implements FileFormat {
  readonly name = 'pcap';
  readonly linkType: number;
  readonly snaplen: number;
  readonly dropped = 0;
  /** Bytes of file header the reader skips. */
  readonly headerSize = PCAP_FILE_HEADER_SIZE;

  private constructor(
    private readonly littleEndian: boolean,
    private readonly fractionScale: number,
    snaplen: number,
    linktype: number,
  ) {
    this.snaplen = snaplen;
    this.linkType = dltFromLinktype(linktype);
  }

  static detect(bytes: Uint8Array): PcapFormat | null {
    const header = readHeader(bytes);
    return header && new PcapFormat(header.littleEndian, header.fractionScale, header.snaplen, header.linktype);
  }

  frame(bytes: Uint8Array, start: number, end: number, frame: Frame): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = start;
    let packets = 0;
    while (at + PCAP_RECORD_HEADER_SIZE <= end) {
      const caplen = view.getUint32(at + 8, this.littleEndian);
      if (caplen > MAX_RECORD_SIZE) throw corruptFile(`record of ${caplen} bytes (at byte ${at} of a chunk)`);
      if (at + PCAP_RECORD_HEADER_SIZE + caplen > end) break;
      at += PCAP_RECORD_HEADER_SIZE + caplen;
      packets++;
    }
    frame.begin = start;
    frame.end = at;
    frame.packets = packets;
  }

  cursorFactory(): (bytes: Uint8Array) => PcapRecordCursor {
    const { littleEndian, fractionScale } = this;
    return (bytes) => new PcapRecordCursor(bytes, littleEndian, fractionScale);
  }
}
