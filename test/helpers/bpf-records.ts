/** Builds BPF record areas the way FreeBSD's catchpacket lays them out (docs/freebsd-kernel.md §5). */
export interface SyntheticPacket {
  seconds: number;
  nanoseconds: number;
  data: Uint8Array;
  wireLength?: number;
}

const align8 = (n: number) => (n + 7) & ~7;

export function buildRecords(packets: SyntheticPacket[], hdrlen: number, capacity = 65536): { bytes: Uint8Array; length: number } {
  const bytes = new Uint8Array(capacity);
  const view = new DataView(bytes.buffer);
  let length = 0;
  for (const packet of packets) {
    const at = align8(length);
    view.setUint32(at, packet.seconds % 2 ** 32, true);
    view.setUint32(at + 4, Math.floor(packet.seconds / 2 ** 32), true);
    view.setUint32(at + 8, packet.nanoseconds, true);
    view.setUint32(at + 16, packet.data.length, true);
    view.setUint32(at + 20, packet.wireLength ?? packet.data.length, true);
    view.setUint16(at + 24, hdrlen, true);
    bytes.set(packet.data, at + hdrlen);
    length = at + hdrlen + packet.data.length;
  }
  return { bytes, length };
}
