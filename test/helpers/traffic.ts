// Test traffic over a VethPair: numbered Ethernet frames with an experimental ethertype,
// sent by build/tools/sendframes (an AF_PACKET sender), and a parser for their sequence number.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { ensureBpfSender, sendFramesBpf } from './freebsd-pair';
import type { VethPair } from './netns';

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

const repoRoot = path.resolve(__dirname, '..', '..');
const toolSource = path.join(repoRoot, 'test', 'tools', 'sendframes.c');
const toolBinary = path.join(repoRoot, 'build', 'tools', 'sendframes');
const MAGIC = [0x5a, 0x42, 0x50, 0x46]; // "ZBPF"
const PAYLOAD_OFFSET = 14;

/** Compiles test/tools/sendframes.c to build/tools/sendframes when missing or stale. */
export function ensureTools(): void {
  if (process.platform === 'freebsd') {
    ensureBpfSender();
    return;
  }
  const stale = !existsSync(toolBinary) || statSync(toolBinary).mtimeMs < statSync(toolSource).mtimeMs;
  if (!stale) return;
  mkdirSync(path.dirname(toolBinary), { recursive: true });
  // Build beside the target and rename: test files running in parallel never execute a
  // half-written binary.
  const tmp = `${toolBinary}.${process.pid}.tmp`;
  execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', tmp, toolSource], { stdio: 'inherit' });
  renameSync(tmp, toolBinary);
}

/**
 * Sends opts.count frames over the pair (from the peer by default) and resolves with the
 * number the kernel accepted. Frame: dst = receiving end's MAC, src = sender's MAC,
 * ethertype ETHERTYPE_TEST, payload "ZBPF" + uint32 BE sequence + zero padding.
 */
export function sendFrames(pair: VethPair, opts: SendOptions): Promise<{ sent: number }> {
  if (process.platform === 'freebsd') return sendFramesBpf(pair, opts);
  ensureTools();
  const frameSize = opts.frameSize ?? 64;
  if (frameSize < 60) throw new RangeError(`frameSize ${frameSize} < 60`);
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`bad count ${opts.count}`);
  const fromCapture = opts.fromCaptureSide ?? false;
  const toolArgs = [
    fromCapture ? pair.captureIf : pair.peerIf,
    fromCapture ? pair.peerMac : pair.captureMac,
    fromCapture ? pair.captureMac : pair.peerMac,
    String(opts.count),
    String(opts.firstSeq ?? 0),
    String(frameSize),
    String(opts.ratePps ?? 0),
  ];
  const [command, args] = fromCapture
    ? [toolBinary, toolArgs]
    : ['ip', ['netns', 'exec', pair.peerNs, toolBinary, ...toolArgs]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`sendframes exited with ${code}: ${err.trim()}`));
        return;
      }
      resolve({ sent: Number.parseInt(out.trim(), 10) });
    });
  });
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
