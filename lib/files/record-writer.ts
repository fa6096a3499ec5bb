import type { Batch } from '../batch';
import { ZbpfError } from '../errors';
import type { PacketCursor } from '../protocol/cursor';
import type { OutputChunks } from './output-chunks';

/** Bytes to keep of a packet (0: skip it), e.g. a filter's verdict or a packet-count limit. */
export type PacketSelector = (packet: PacketCursor) => number;

/** Counters a writer records at close (pcapng: the interface statistics block). */
export interface WriterStats {
  received: number;
  dropped: number;
}

/**
 * Copies whole batches into a capture file, record by record, with one cursor per batch.
 * Subclasses say how big a record is and how to encode it.
 */
export abstract class RecordWriter {
  /** Packets written. */
  packets = 0;
  /** Packet bytes written (captured lengths). */
  bytes = 0;
  private closing: Promise<void> | null = null;

  constructor(protected readonly out: OutputChunks) {}

  /**
   * Copies the batch's packets (those `select` keeps, cut to what it says). true when done;
   * otherwise a promise that resolves once they are all copied: await it before the batch
   * goes back to the kernel, so the writer never loses a packet silently.
   */
  write(batch: Batch, select?: PacketSelector): true | Promise<void> {
    if (this.closing) throw new ZbpfError('the capture file is closed', { code: 'ERR_ZBPF_CLOSED', hint: 'write every batch before close()' });
    if (batch.released) return true;
    return this.copy(batch.cursor(), select, -1);
  }

  /** Starts writing what is buffered if the file is idle: call it now and then on a quiet capture. */
  flush(): void {
    this.out.flush();
  }

  /** Ends the file (writing `stats` where the format has a place for them) and closes it. */
  close(stats?: WriterStats): Promise<void> {
    this.closing ??= this.finish(stats);
    return this.closing;
  }

  protected abstract recordSize(caplen: number): number;
  protected abstract encode(cursor: PacketCursor, caplen: number, at: number): void;
  protected abstract trailer(stats: WriterStats | undefined): Promise<void>;

  /** Waits until `size` bytes fit in the current chunk. */
  protected async room(size: number): Promise<void> {
    for (let room = this.out.reserve(size); room !== true; room = this.out.reserve(size)) await room;
  }

  private copy(cursor: PacketCursor, select: PacketSelector | undefined, resumed: number): true | Promise<void> {
    let keep = resumed;
    for (;;) {
      if (keep < 0) {
        if (!cursor.next()) return true;
        keep = select ? Math.min(select(cursor), cursor.caplen) : cursor.caplen;
        if (keep <= 0) {
          keep = -1;
          continue;
        }
      }
      const size = this.recordSize(keep);
      const room = this.out.reserve(size);
      if (room !== true) {
        const waiting = keep;
        return room.then(async () => {
          await this.copy(cursor, select, waiting);
        });
      }
      this.encode(cursor, keep, this.out.fill);
      this.out.fill += size;
      this.packets++;
      this.bytes += keep;
      keep = -1;
    }
  }

  private async finish(stats: WriterStats | undefined): Promise<void> {
    try {
      await this.trailer(stats);
    } finally {
      await this.out.close();
    }
  }
}
