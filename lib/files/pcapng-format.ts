// Reading pcapng's structure: section headers (byte order), interface descriptions (link
// type, snap length, timestamp resolution) and interface statistics (drops). A batch never
// spans a section header or an interface description, so its cursor sees one fixed table.
import { dltFromLinktype } from './linktype';
import { corruptFile, MAX_RECORD_SIZE, type FileFormat, type Frame } from './file-format';
import {
  BLOCK_EPB,
  BLOCK_IDB,
  BLOCK_ISB,
  BLOCK_PB,
  BLOCK_SHB,
  BLOCK_SPB,
  BYTE_ORDER_MAGIC,
  IF_TSOFFSET,
  IF_TSRESOL,
  ISB_IFDROP,
} from './pcapng-writer';
import { PcapngRecordCursor, type PcapngInterface } from './pcapng-records';
import { TickResolution } from './timestamps';

const DEFAULT_TSRESOL = 6; // microseconds, when an interface does not say
const SHB_MIN_PEEK = 12; // type, length, byte-order magic
const isPacketBlock = (type: number): boolean => type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB;

/** Calls fn(code, valueOffset, valueLength) for each option in view[at, end). */
function forEachOption(view: DataView, at: number, end: number, le: boolean, fn: (code: number, value: number, length: number) => void): void {
  while (at + 4 <= end) {
    const code = view.getUint16(at, le);
    const length = view.getUint16(at + 2, le);
    if (code === 0 || at + 4 + length > end) return;
    fn(code, at + 4, length);
    at += 4 + ((length + 3) & ~3);
  }
}

function readUint64(view: DataView, at: number, le: boolean): number {
  const first = view.getUint32(at, le);
  const second = view.getUint32(at + 4, le);
  return le ? second * 0x1_0000_0000 + first : first * 0x1_0000_0000 + second;
}

export class PcapngFormat implements FileFormat {
  readonly name = 'pcapng';
  private littleEndian = true;
  private interfaces: PcapngInterface[] = [];
  private firstInterface: PcapngInterface | null = null;
  private readonly drops = new Map<string, number>();
  private section = 0;

  static detect(bytes: Uint8Array): PcapngFormat | null {
    if (bytes.byteLength < SHB_MIN_PEEK) return null;
    const view = new DataView(bytes.buffer, bytes.byteOffset, SHB_MIN_PEEK);
    return view.getUint32(0, true) === BLOCK_SHB ? new PcapngFormat() : null;
  }

  get linkType(): number {
    return this.firstInterface ? dltFromLinktype(this.firstInterface.linkType) : -1;
  }

  get snaplen(): number {
    return this.firstInterface?.snaplen ?? 0;
  }

  get dropped(): number {
    let sum = 0;
    for (const drops of this.drops.values()) sum += drops;
    return sum;
  }

  frame(bytes: Uint8Array, start: number, end: number, frame: Frame): void {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let at = start;
    let begin = start;
    let packets = 0;
    while (at + SHB_MIN_PEEK <= end) {
      const type = view.getUint32(at, this.littleEndian);
      const le = type === BLOCK_SHB ? this.sectionByteOrder(view, at) : this.littleEndian;
      const length = view.getUint32(at + 4, le);
      if (length < 12 || length % 4 !== 0 || length > MAX_RECORD_SIZE) throw corruptFile(`block of type 0x${type.toString(16)} has length ${length}`);
      if (at + length > end) break;
      if (type === BLOCK_SHB || type === BLOCK_IDB) {
        if (at > begin) break; // the batch ends here; the table changes for the next one
        if (type === BLOCK_SHB) this.startSection(le);
        else this.describeInterface(view, at, length);
        at += length;
        begin = at;
        continue;
      }
      if (type === BLOCK_ISB) this.readStatistics(view, at, length);
      if (isPacketBlock(type)) packets++;
      at += length;
    }
    frame.begin = begin;
    frame.end = at;
    frame.packets = packets;
  }

  cursorFactory(): (bytes: Uint8Array) => PcapngRecordCursor {
    const { littleEndian, interfaces } = this;
    return (bytes) => new PcapngRecordCursor(bytes, littleEndian, interfaces);
  }

  private sectionByteOrder(view: DataView, at: number): boolean {
    if (view.getUint32(at + 8, true) === BYTE_ORDER_MAGIC) return true;
    if (view.getUint32(at + 8, false) === BYTE_ORDER_MAGIC) return false;
    throw corruptFile(`section header at byte ${at} of a chunk has no byte-order magic`);
  }

  private startSection(littleEndian: boolean): void {
    this.littleEndian = littleEndian;
    this.interfaces = []; // interface ids restart with every section
    this.section++;
  }

  private describeInterface(view: DataView, at: number, length: number): void {
    const le = this.littleEndian;
    let tsresol = DEFAULT_TSRESOL;
    let tsoffset = 0;
    forEachOption(view, at + 16, at + length - 4, le, (code, value) => {
      if (code === IF_TSRESOL) tsresol = view.getUint8(value);
      if (code === IF_TSOFFSET) tsoffset = Number(view.getBigInt64(value, le));
    });
    const described: PcapngInterface = {
      linkType: view.getUint16(at + 8, le),
      snaplen: view.getUint32(at + 12, le),
      resolution: new TickResolution(tsresol, tsoffset),
    };
    this.interfaces.push(described);
    this.firstInterface ??= described;
  }

  private readStatistics(view: DataView, at: number, length: number): void {
    const le = this.littleEndian;
    const id = view.getUint32(at + 8, le);
    forEachOption(view, at + 20, at + length - 4, le, (code, value, size) => {
      if (code === ISB_IFDROP && size === 8) this.drops.set(`${this.section}/${id}`, readUint64(view, value, le));
    });
  }
}
