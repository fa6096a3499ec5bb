import { ZbpfError } from '../errors';
import type { PacketCursor } from '../protocol/cursor';
import type { CaptureFileFormat } from './writer';

/** Where the next batch lies in the bytes read so far. */
export interface Frame {
  /** Bytes before `begin` were file structure (headers, interface descriptions), not packets. */
  begin: number;
  /** End of the last whole record: the batch is [begin, end). */
  end: number;
  packets: number;
}

/** One capture-file format, as the reader drives it. */
export interface FileFormat {
  readonly name: CaptureFileFormat;
  /** DLT_* of the packets (-1 while unknown: a pcapng file before its first interface). */
  readonly linkType: number;
  readonly snaplen: number;
  /** Packets the capturing kernel dropped, as the file records them (pcapng statistics). */
  readonly dropped: number;
  /** Finds the whole records in bytes[start, end), updating `frame`. */
  frame(bytes: Uint8Array, start: number, end: number, frame: Frame): void;
  /** Makes cursors for the batch just framed. */
  cursorFactory(): (bytes: Uint8Array) => PacketCursor;
}

/** Larger than any packet record a sane file holds: a length beyond it means corruption. */
export const MAX_RECORD_SIZE = 256 << 20;

export function corruptFile(detail: string): ZbpfError {
  return new ZbpfError(`corrupt capture file: ${detail}`, {
    code: 'ERR_ZBPF_CORRUPT_FILE',
    hint: 'the file is damaged or not a capture file; `tshark -r FILE` or `capinfos FILE` may say more',
  });
}
