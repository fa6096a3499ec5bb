// The output side of capture files: records are encoded into one large chunk while the other
// is being written, and written only whole, so the file on disk always ends at a record
// boundary. When both chunks are busy the writer waits (backpressure) rather than drop.
import fs from 'node:fs';
import { ZbpfError } from '../errors';

export const DEFAULT_CHUNK_SIZE = 1 << 20;

function fsCall<T>(fn: (callback: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
}

/** A file error, said as a user can act on it. */
export function fileError(path: string, doing: 'read' | 'write', error: unknown): ZbpfError {
  const e = error as NodeJS.ErrnoException;
  const hints: Record<string, string> = {
    ENOENT: doing === 'read' ? 'no such file: check the path' : 'the directory does not exist: create it or choose another path',
    EACCES: `no permission to ${doing} it: fix its permissions or choose another path`,
    EPERM: `no permission to ${doing} it: fix its permissions or choose another path`,
    EROFS: 'the file system is read-only: choose another path',
    EISDIR: 'that is a directory: give a file name',
    ENOSPC: 'the disk is full: free space or write elsewhere',
    EDQUOT: 'the disk quota is exhausted: free space or write elsewhere',
  };
  return new ZbpfError(`cannot ${doing} ${path}: ${e?.message ?? String(error)}`, {
    code: e?.code ?? 'ERR_ZBPF_FILE',
    errno: e?.errno,
    syscall: e?.syscall,
    hint: hints[e?.code ?? ''] ?? 'check the path and the disk',
  });
}

export class OutputChunks {
  /** The chunk records are encoded into, from `fill` on. */
  chunk: Uint8Array;
  view: DataView;
  fill = 0;
  private spare: Uint8Array;
  private writing: Promise<void> | null = null;
  private failure: ZbpfError | null = null;

  private constructor(
    private readonly fd: number,
    readonly path: string,
    chunkSize: number,
  ) {
    this.chunk = new Uint8Array(chunkSize);
    this.view = new DataView(this.chunk.buffer);
    this.spare = new Uint8Array(chunkSize);
  }

  static async open(path: string, chunkSize = DEFAULT_CHUNK_SIZE): Promise<OutputChunks> {
    try {
      const fd = await fsCall<number>((done) => fs.open(path, 'w', 0o644, done));
      return new OutputChunks(fd, path, chunkSize);
    } catch (error) {
      throw fileError(path, 'write', error);
    }
  }

  /**
   * Makes room for `size` bytes at `fill`. true: there is room now. A promise: both chunks are
   * busy; await it, then ask again. Throws the write error if an earlier write failed.
   */
  reserve(size: number): true | Promise<void> {
    if (this.failure) throw this.failure;
    if (this.fill + size <= this.chunk.length) return true;
    if (this.writing) return this.writing;
    this.startWrite();
    // A record larger than a chunk (huge snap lengths): the now empty chunk grows to fit it.
    if (size > this.chunk.length) {
      this.chunk = new Uint8Array(Math.max(size, this.chunk.length * 2));
      this.view = new DataView(this.chunk.buffer);
    }
    return true;
  }

  /** Starts writing what is encoded so far if the file is idle (a timer's periodic flush). */
  flush(): void {
    if (this.fill > 0 && !this.writing && !this.failure) this.startWrite();
  }

  /** Writes everything encoded, then closes the file. Throws the first write error. */
  async close(): Promise<void> {
    try {
      if (this.writing) await this.writing;
      if (this.fill > 0 && !this.failure) this.startWrite();
      if (this.writing) await this.writing;
    } finally {
      await fsCall<void>((done) => fs.close(this.fd, (error) => done(error, undefined))).catch(() => undefined);
    }
    if (this.failure) throw this.failure;
  }

  private startWrite(): void {
    const full = this.chunk;
    const length = this.fill;
    this.chunk = this.spare;
    this.view = new DataView(this.chunk.buffer);
    this.spare = full;
    this.fill = 0;
    this.writing = this.writeAll(full, length).then(
      () => {
        this.writing = null;
      },
      (error: unknown) => {
        this.failure = fileError(this.path, 'write', error);
        this.writing = null;
      },
    );
  }

  private async writeAll(bytes: Uint8Array, length: number): Promise<void> {
    let done = 0;
    while (done < length) {
      done += await fsCall<number>((callback) => fs.write(this.fd, bytes, done, length - done, null, callback));
    }
  }
}
