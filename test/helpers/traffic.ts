// Test traffic over a VethPair: numbered Ethernet frames with an experimental ethertype,
// sent by build/tools/sendframes (an AF_PACKET sender), and a parser for their sequence number.
import { sendFramesBpf } from './freebsd-pair';
import type { VethPair } from './netns';
import { buildTool, runSender, senderArgs } from './tools';

/** IEEE 802 local experimental ethertype 1. */
export const ETHERTYPE_TEST = 0x88b5;

export interface SendOptions {
  count: number;
  firstSeq?: number;
  /** Total Ethernet frame bytes, >= 60, default 64. */
  frameSize?: number;
  /** 0 = as fast as possible. */
  ratePps?: number;
  /** Send out of captureIf from the root netns instead of from the peer. */
  fromCaptureSide?: boolean;
}

const MAGIC = [0x5a, 0x42, 0x50, 0x46]; // "ZBPF"
const PAYLOAD_OFFSET = 14;

/** Builds the frame sender for this platform (test/tools/sendframes*.c) if needed. */
export function ensureTools(): void {
  buildTool(process.platform === 'freebsd' ? 'sendframes-bpf' : 'sendframes');
}

/**
 * Sends opts.count frames over the pair (from the peer by default) and resolves with the
 * number the kernel accepted. Frame: dst = receiving end's MAC, src = sender's MAC,
 * ethertype ETHERTYPE_TEST, payload "ZBPF" + uint32 BE sequence + zero padding.
 */
export function sendFrames(pair: VethPair, opts: SendOptions): Promise<{ sent: number }> {
  if (process.platform === 'freebsd') return sendFramesBpf(pair, opts);
  const args = senderArgs(pair, opts);
  const sender = buildTool('sendframes');
  if (opts.fromCaptureSide) return runSender(sender, args);
  return runSender('ip', ['netns', 'exec', pair.peerNs, sender, ...args]);
}

/** The sequence number of a test frame starting at offset, or -1 if it is not one. */
export function frameSeq(bytes: Uint8Array, offset = 0, caplen?: number): number {
  const available = Math.min(caplen ?? bytes.length - offset, bytes.length - offset);
  if (offset < 0 || available < PAYLOAD_OFFSET + 8) return -1;
  const at = (i: number): number => bytes[offset + i];
  if (((at(12) << 8) | at(13)) !== ETHERTYPE_TEST) return -1;
  for (let i = 0; i < MAGIC.length; i++) if (at(PAYLOAD_OFFSET + i) !== MAGIC[i]) return -1;
  const s = PAYLOAD_OFFSET + 4;
  return ((at(s) << 24) >>> 0) + (at(s + 1) << 16) + (at(s + 2) << 8) + at(s + 3);
}
