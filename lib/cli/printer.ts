// Without -w: one line per packet on stdout, time of day with nanoseconds then the summary.
import type { Batch } from '../batch';
import type { PacketSelector } from '../files/record-writer';
import type { PacketCursor } from '../protocol/cursor';
import { summarize } from './summary';

const two = (n: number): string => (n < 10 ? '0' : '') + n;

export class PacketPrinter {
  private second = -1;
  private secondText = '';
  /** Set when stdout is gone (e.g. `zbpf | head` after head exited): print nothing more. */
  broken = false;

  constructor(
    private readonly linkType: number,
    private readonly out: NodeJS.WritableStream,
  ) {}

  /** Prints the packets `select` keeps. A promise when stdout is full: await it (backpressure). */
  print(batch: Batch, select: PacketSelector): true | Promise<void> {
    const lines: string[] = [];
    const cursor = batch.cursor();
    while (cursor.next()) {
      const keep = select(cursor);
      if (keep > 0 && !this.broken) lines.push(`${this.time(cursor)} ${summarize(cursor.bytes, cursor.offset, keep, cursor.length, this.linkType)}`);
    }
    if (lines.length === 0 || this.broken) return true;
    lines.push('');
    if (this.out.write(lines.join('\n'))) return true;
    return new Promise((resolve) => {
      const done = (): void => {
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
    });
  }

  /** Local time of day, as tcpdump prints it, to the nanosecond. */
  private time(cursor: PacketCursor): string {
    if (cursor.seconds !== this.second) {
      const date = new Date(cursor.seconds * 1000);
      this.second = cursor.seconds;
      this.secondText = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
    }
    return `${this.secondText}.${String(cursor.nanoseconds).padStart(9, '0')}`;
  }
}
