// The live status line while writing to a file (-w) on a terminal: packets, bytes, rate and
// kernel drops, redrawn in place a few times a second on stderr.
const REDRAW_MS = 250;

export interface StatusSource {
  packets(): number;
  bytes(): number;
  dropped(): number;
}

function humanBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export class StatusLine {
  private timer: NodeJS.Timeout | null = null;
  private lastPackets = 0;
  private lastAt = Date.now();
  private rate = 0;

  constructor(
    private readonly source: StatusSource,
    private readonly stream: NodeJS.WriteStream,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref();
  }

  /** Removes the line so the summary that follows starts on a clean one. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stream.write('\r\x1b[K');
  }

  private draw(): void {
    const now = Date.now();
    const packets = this.source.packets();
    const seconds = (now - this.lastAt) / 1000;
    if (seconds > 0) this.rate = this.rate * 0.5 + ((packets - this.lastPackets) / seconds) * 0.5;
    this.lastPackets = packets;
    this.lastAt = now;
    const text = `${packets} packets, ${humanBytes(this.source.bytes())}, ${Math.round(this.rate)} packets/s, ${this.source.dropped()} dropped by kernel`;
    this.stream.write(`\r${text}\x1b[K`);
  }
}
