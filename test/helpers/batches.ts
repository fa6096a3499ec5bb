// Synthetic batches for the file and filter tests: BPF records in memory, walked by the same
// cursor a live FreeBSD capture uses.
import { createHash } from 'node:crypto';
import { Batch } from '../../lib/batch';
import { BpfRecordCursor } from '../../lib/protocol/bpf-records';
import { buildRecords, type SyntheticPacket } from './bpf-records';

export type { SyntheticPacket };

export function syntheticBatch(packets: SyntheticPacket[]): Batch {
  const capacity = packets.reduce((sum, p) => sum + 32 + p.data.length + 8, 64);
  const { bytes, length } = buildRecords(packets, 26, capacity);
  return new Batch(bytes.subarray(0, length), (b) => new BpfRecordCursor(b));
}

/** Deterministic packets: sizes cycle through small, odd and full-MTU frames. */
export function samplePackets(count: number, firstSecond = 1_700_000_000): SyntheticPacket[] {
  const sizes = [60, 61, 1, 1514, 77, 342, 9000];
  return Array.from({ length: count }, (_, i) => {
    const size = sizes[i % sizes.length];
    return {
      seconds: firstSecond + Math.floor(i / 3),
      nanoseconds: (i * 123_456_789 + 987) % 1_000_000_000,
      data: Uint8Array.from({ length: size }, (_, j) => (i * 31 + j * 7) & 0xff),
      wireLength: i % 5 === 0 ? size + 100 : undefined,
    };
  });
}

export const md5 = (bytes: Uint8Array): string => createHash('md5').update(bytes).digest('hex');

/** frame.time_epoch as tshark prints it for a nanosecond file. */
export const epochText = (seconds: number, nanoseconds: number): string => `${seconds}.${String(nanoseconds).padStart(9, '0')}`;
