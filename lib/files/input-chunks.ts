// The input side of capture files: one large buffer read in big chunks. A batch is a view of
// it; when the consumer moves on, the buffer's memory moves to a fresh ArrayBuffer (no copy)
// and the old one is detached, so a view kept too long reads as empty, never as later
// packets (docs/architecture.md rule 2), and the memory is reused for the next chunk.
import fs from 'node:fs';
import { fileError } from './output-chunks';

export const DEFAULT_READ_CHUNK_SIZE = 1 << 20;

/** Moves an ArrayBuffer's memory to a new ArrayBuffer, detaching the old one. */
function detach(buffer: ArrayBuffer): ArrayBuffer {
  const transfer = (buffer as ArrayBuffer & { transfer?: () => ArrayBuffer }).transfer;
  if (typeof transfer === 'function') return transfer.call(buffer); // Node 21+
  return structuredClone(buffer, { transfer: [buffer] });
}

export class InputChunks {
  /** The bytes read so far that are not yet consumed lie in bytes[start, filled). */
  bytes: Uint8Array;
  start = 0;
  filled = 0;
  eof = false;
  private reading: Promise<number> | null = null;
  private closed = false;

  private constructor(
    private readonly fd: number,
    readonly path: string,
    chunkSize: number,
  ) {
    this.bytes = new Uint8Array(chunkSize);
  }

  static async open(path: string, chunkSize = DEFAULT_READ_CHUNK_SIZE): Promise<InputChunks> {
    const fd = await new Promise<number>((resolve, reject) =>
      fs.open(path, 'r', (error, fd) => (error ? reject(fileError(path, 'read', error)) : resolve(fd))),
    );
    return new InputChunks(fd, path, chunkSize);
  }

  /** Invalidates every view handed out so far; the bytes stay where they are. */
  revokeViews(): void {
    this.bytes = new Uint8Array(detach(this.bytes.buffer as ArrayBuffer));
  }

  /**
   * Reads more: moves the unconsumed tail to the front (growing the buffer if the tail fills
   * it: a record larger than a chunk), then fills the rest. Sets eof when the file ends.
   */
  async readMore(): Promise<void> {
    const tail = this.filled - this.start;
    if (tail === this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes.subarray(this.start, this.filled));
      this.bytes = grown;
    } else if (this.start > 0) {
      this.bytes.copyWithin(0, this.start, this.filled);
    }
    this.start = 0;
    this.filled = tail;
    this.reading = new Promise<number>((resolve, reject) =>
      fs.read(this.fd, this.bytes, this.filled, this.bytes.length - this.filled, null, (error, n) =>
        error ? reject(fileError(this.path, 'read', error)) : resolve(n),
      ),
    );
    const got = await this.reading.finally(() => {
      this.reading = null;
    });
    this.filled += got;
    if (got === 0) this.eof = true;
  }

  /** Closes the file; a read in progress finishes first (closing under it would fail it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const closeFd = (): void => fs.close(this.fd, () => undefined);
    if (this.reading) this.reading.then(closeFd, closeFd);
    else closeFd();
  }
}
