import { invalidOption } from '../errors';
import { dltFromLinktype, linktypeFromDlt } from './linktype';
import { DEFAULT_CHUNK_SIZE, OutputChunks } from './output-chunks';
import { PcapWriter } from './pcap-writer';
import { PcapngWriter } from './pcapng-writer';
import type { RecordWriter } from './record-writer';

export type CaptureFileFormat = 'pcap' | 'pcapng';

export interface CaptureWriterOptions {
  /** DLT_* of the packets: `capture.linkType`. The file records the matching LINKTYPE_*. */
  linkType: number;
  /** The capture's snap length: `capture.snaplen`. */
  snaplen: number;
  /** 'pcap' (nanosecond) or 'pcapng'. Default: pcapng for a name ending in .pcapng, else pcap. */
  format?: CaptureFileFormat;
  /** pcapng: the interface name recorded (if_name). */
  interface?: string;
  /** Bytes per output chunk; two are used in turn. Default 1 MiB. */
  chunkSize?: number;
}

export type CaptureWriter = RecordWriter;
export type { PacketSelector, WriterStats } from './record-writer';

function formatForPath(path: string): CaptureFileFormat {
  return /\.pcapng$/i.test(path) ? 'pcapng' : 'pcap';
}

/**
 * Opens `path` for writing (truncating it) and writes the file header. Feed it batches with
 * `write(batch)` (await what it returns), and `close(capture.stats())` at the end.
 */
export async function createCaptureWriter(path: string, options: CaptureWriterOptions): Promise<CaptureWriter> {
  const format = options.format ?? formatForPath(path);
  if (format !== 'pcap' && format !== 'pcapng') throw invalidOption('format', `${JSON.stringify(format)} is not 'pcap' or 'pcapng'`);
  if (!Number.isInteger(options.linkType) || options.linkType < 0) throw invalidOption('linkType', 'give the DLT_* of the packets (capture.linkType)');
  if (!Number.isInteger(options.snaplen) || options.snaplen < 1) throw invalidOption('snaplen', 'give the snap length (capture.snaplen)');
  const out = await OutputChunks.open(path, options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  // A LINKTYPE_* given where a DLT_* was meant is recognised: the two differ for a few types.
  const linktype = linktypeFromDlt(dltFromLinktype(options.linkType));
  if (format === 'pcap') return new PcapWriter(out, linktype, options.snaplen);
  return new PcapngWriter(out, linktype, options.snaplen, options.interface);
}
