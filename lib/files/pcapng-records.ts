// Packet blocks of a pcapng section: enhanced (EPB), simple (SPB) and the obsolete packet
// block (PB). Other blocks in the batch (name resolution, statistics, custom) are skipped.
import { PacketCursor } from '../protocol/cursor';
import { corruptFile } from './file-format';
import { BLOCK_EPB, BLOCK_PB, BLOCK_SPB, EPB_HEADER_SIZE } from './pcapng-writer';
import type { TickResolution } from './timestamps';

/** What an interface description block says about the packets of that interface. */
export interface PcapngInterface {
  linkType: number;
  snaplen: number;
  resolution: TickResolution;
}

const SPB_HEADER_SIZE = 12;
const MIN_BLOCK_SIZE = 12;

export class PcapngRecordCursor extends PacketCursor {
  /** Index of the interface (IDB) the current packet was captured on. */
  interfaceId = 0;
  private readonly view: DataView | null;
  private nextBlock = 0;

  constructor(
    bytes: Uint8Array,
    private readonly littleEndian: boolean,
    private readonly interfaces: readonly PcapngInterface[],
  ) {
    super(bytes);
    this.view = bytes.byteLength === 0 ? null : new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  next(): boolean {
    for (;;) {
      const at = this.nextBlock;
      const end = this.bytes.byteLength; // 0 once the batch is given back: reads as empty
      if (at >= end || !this.view) return false;
      if (at + MIN_BLOCK_SIZE > end) throw corruptFile(`block header at ${at} runs past the end of the batch`);
      const type = this.view.getUint32(at, this.littleEndian);
      const length = this.view.getUint32(at + 4, this.littleEndian);
      if (length < MIN_BLOCK_SIZE || length % 4 !== 0 || at + length > end) throw corruptFile(`block at ${at} has length ${length}`);
      this.nextBlock = at + length;
      if (type === BLOCK_EPB || type === BLOCK_PB) return this.readPacketBlock(at, length, type === BLOCK_PB);
      if (type === BLOCK_SPB) return this.readSimpleBlock(at, length);
    }
  }

  private interfaceAt(id: number, at: number): PcapngInterface {
    const described = this.interfaces[id];
    if (!described) throw corruptFile(`packet block at ${at} names interface ${id}, which no interface description precedes`);
    return described;
  }

  private readPacketBlock(at: number, length: number, obsolete: boolean): boolean {
    const view = this.view as DataView;
    const le = this.littleEndian;
    const id = obsolete ? view.getUint16(at + 8, le) : view.getUint32(at + 8, le);
    const caplen = view.getUint32(at + 20, le);
    if (EPB_HEADER_SIZE + caplen + 4 > length) throw corruptFile(`packet block at ${at}: ${caplen} captured bytes do not fit its length ${length}`);
    this.interfaceAt(id, at).resolution.apply(this, view.getUint32(at + 12, le), view.getUint32(at + 16, le));
    this.interfaceId = id;
    this.caplen = caplen;
    this.length = view.getUint32(at + 24, le);
    this.offset = at + EPB_HEADER_SIZE;
    return true;
  }

  /** A simple packet block has no timestamp and no captured length: both are implied. */
  private readSimpleBlock(at: number, length: number): boolean {
    const view = this.view as DataView;
    const wire = view.getUint32(at + 8, this.littleEndian);
    const snaplen = this.interfaceAt(0, at).snaplen || Infinity;
    this.interfaceId = 0;
    this.seconds = 0;
    this.nanoseconds = 0;
    this.length = wire;
    this.caplen = Math.min(wire, snaplen, length - SPB_HEADER_SIZE - 4);
    this.offset = at + SPB_HEADER_SIZE;
    return true;
  }
}
