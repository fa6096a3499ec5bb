import { Batch } from '../batch';
import type { CaptureStats } from '../capture';
import { ZbpfError } from '../errors';
import type { PacketCursor } from '../protocol/cursor';
import type { FileFormat, Frame } from './file-format';
import { DEFAULT_READ_CHUNK_SIZE, InputChunks } from './input-chunks';
import { PcapFormat } from './pcap-records';
import { PcapngFormat } from './pcapng-format';
import type { CaptureFileFormat } from './writer';

export interface OpenCaptureFileOptions {
  /** Bytes read at a time (a batch is at most this much, unless one record is larger). Default 1 MiB. */
  chunkSize?: number;
}

function notACaptureFile(path: string, bytes: Uint8Array): ZbpfError {
  const start = Buffer.from(bytes.subarray(0, 4)).toString('hex') || 'nothing';
  return new ZbpfError(`${path} is not a pcap or pcapng file (it starts with ${start})`, {
    code: 'ERR_ZBPF_NOT_A_CAPTURE_FILE',
    hint: 'give a file written by zbpf -w, tcpdump -w, dumpcap or Wireshark',
  });
}

function truncated(path: string, left: number): ZbpfError {
  return new ZbpfError(`${path} ends in the middle of a record (${left} bytes left over)`, {
    code: 'ERR_ZBPF_TRUNCATED_FILE',
    hint: 'the file was cut short (the writer was killed, or the disk filled); every whole record before that was read',
  });
}

/**
 * A capture file read back through the same API as a live capture: async-iterable Batches
 * whose cursors walk the file's records in place, read in large chunks.
 */
export class CaptureFile implements AsyncIterable<Batch> {
  readonly path: string;
  readonly format: CaptureFileFormat;
  private readonly input: InputChunks;
  private readonly decoder: FileFormat;
  private ready: Frame | null = null;
  private handedOut = false;
  private closed = false;
  private packets = 0;
  private batches = 0;

  private constructor(input: InputChunks, decoder: FileFormat) {
    this.input = input;
    this.decoder = decoder;
    this.path = input.path;
    this.format = decoder.name;
  }

  /** Reads the header (and, for pcapng, the first interface description). */
  static async open(path: string, options: OpenCaptureFileOptions = {}): Promise<CaptureFile> {
    const input = await InputChunks.open(path, options.chunkSize ?? DEFAULT_READ_CHUNK_SIZE);
    try {
      await input.readMore();
      const head = input.bytes.subarray(0, input.filled);
      const pcap = PcapFormat.detect(head);
      const decoder = pcap ?? PcapngFormat.detect(head);
      if (!decoder) throw notACaptureFile(path, head);
      if (pcap) input.start = pcap.headerSize;
      const file = new CaptureFile(input, decoder);
      await file.advance();
      return file;
    } catch (error) {
      input.close();
      throw error;
    }
  }

  /** DLT_* of the packets, as `capture.linkType` (-1: the file describes no interface). */
  get linkType(): number {
    return this.decoder.linkType;
  }

  get snaplen(): number {
    return this.decoder.snaplen;
  }

  /** received: packets read so far; dropped: what the capturing kernel dropped, if the file says. */
  stats(): CaptureStats {
    return { received: this.packets, dropped: this.decoder.dropped, batches: this.batches, mode: this.format };
  }

  /** Calls fn for every packet with one reused cursor until the file ends. */
  async forEachPacket(fn: (packet: PacketCursor) => void): Promise<void> {
    for await (const batch of this) batch.forEachPacket(fn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.revoke();
    this.input.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  private async next(): Promise<IteratorResult<Batch>> {
    this.revoke();
    if (this.closed) return { done: true, value: undefined };
    if (!this.ready) await this.advance();
    const frame = this.ready;
    if (!frame || this.closed) {
      this.close();
      return { done: true, value: undefined };
    }
    this.ready = null;
    this.handedOut = true;
    this.packets += frame.packets;
    this.batches++;
    return { done: false, value: new Batch(this.input.bytes.subarray(frame.begin, frame.end), this.decoder.cursorFactory()) };
  }

  private revoke(): void {
    if (!this.handedOut) return;
    this.handedOut = false;
    this.input.revokeViews();
  }

  /** Frames the next batch into `ready`, reading as needed; leaves it null at the end. */
  private async advance(): Promise<void> {
    const input = this.input;
    const frame: Frame = { begin: 0, end: 0, packets: 0 };
    for (;;) {
      this.decoder.frame(input.bytes, input.start, input.filled, frame);
      const progressed = frame.end > input.start;
      input.start = frame.end;
      if (frame.packets > 0) {
        this.ready = frame;
        return;
      }
      if (progressed) continue;
      if (input.eof) {
        if (input.filled > input.start) throw truncated(this.path, input.filled - input.start);
        return;
      }
      await input.readMore();
      if (this.closed) return;
    }
  }
}

/** Opens a pcap (µs or ns, either byte order) or pcapng file for reading. */
export function openCaptureFile(path: string, options?: OpenCaptureFileOptions): Promise<CaptureFile> {
  return CaptureFile.open(path, options);
}
