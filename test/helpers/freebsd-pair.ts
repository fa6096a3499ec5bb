// FreeBSD's counterpart of test/helpers/netns.ts: an epair(4) instead of a veth pair with one
// end in a network namespace. FreeBSD has no namespaces outside VNET jails, so both ends stay
// in the host's stack; nothing routes over them because neither end has an address. Frames
// written to one end (epairNb, the peer) arrive on the other (epairNa, where tests capture).
// Sending needs no namespace either: build/tools/sendframes-bpf writes frames through
// /dev/bpf (test/tools/sendframes-bpf.c), the FreeBSD stand-in for sendframes.c's AF_PACKET.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import type { VethPair } from './netns';
import type { SendOptions } from './traffic';

const repoRoot = path.resolve(__dirname, '..', '..');
const senderSource = path.join(repoRoot, 'test', 'tools', 'sendframes-bpf.c');
const senderBinary = path.join(repoRoot, 'build', 'tools', 'sendframes-bpf');

/** True on FreeBSD as root with ifconfig(8): what createEpairPair needs. */
export function canUseEpair(): boolean {
  if (process.platform !== 'freebsd') return false;
  if (typeof process.geteuid !== 'function' || process.geteuid() !== 0) return false;
  try {
    execFileSync('ifconfig', ['-l'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// One 'exit' hook for every live pair (a listener per pair would trip MaxListeners).
const livePairs = new Set<() => void>();
let exitHookInstalled = false;

function registerForExit(destroy: () => void): void {
  livePairs.add(destroy);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const d of [...livePairs]) d();
  });
}

function ifconfig(args: string[]): string {
  return execFileSync('ifconfig', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function macOf(ifname: string): string {
  const match = /\bether\s+([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b/.exec(ifconfig([ifname]));
  if (!match) throw new Error(`ifconfig ${ifname} shows no Ethernet address`);
  return match[1];
}

/**
 * Creates an epair(4) (`ifconfig epair create`, so names are unique: epair0a/epair0b, ...),
 * takes IPv6 off both ends so the pair stays silent apart from the test's own frames (as
 * netns.ts does for the veth ends), brings both up, and registers destroy() on process
 * 'exit' as a safety net. peerNs is '' : there is no namespace.
 */
export function createEpairPair(): VethPair {
  try {
    execFileSync('kldload', ['-n', 'if_epair'], { stdio: 'ignore' });
  } catch {
    // Compiled into the kernel, or `ifconfig epair create` below loads it.
  }
  const captureIf = ifconfig(['epair', 'create']).trim();
  if (!/^epair\d+a$/.test(captureIf)) throw new Error(`ifconfig epair create answered '${captureIf}'`);
  const peerIf = `${captureIf.slice(0, -1)}b`;

  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    livePairs.delete(destroy);
    try {
      ifconfig([captureIf, 'destroy']); // destroying one end removes both
    } catch {
      // Already gone (a test destroyed it on purpose): destroy() is idempotent.
    }
  };
  registerForExit(destroy);

  try {
    for (const ifname of [captureIf, peerIf]) {
      try {
        ifconfig([ifname, 'inet6', '-auto_linklocal', 'ifdisabled']);
      } catch {
        // A kernel without INET6 sends no IPv6 to begin with.
      }
      ifconfig([ifname, 'up']);
    }
    return { captureIf, captureMac: macOf(captureIf), peerNs: '', peerIf, peerMac: macOf(peerIf), destroy };
  } catch (error) {
    destroy();
    throw error;
  }
}

/** Compiles test/tools/sendframes-bpf.c to build/tools/sendframes-bpf when missing or stale. */
export function ensureBpfSender(): string {
  const stale = !existsSync(senderBinary) || statSync(senderBinary).mtimeMs < statSync(senderSource).mtimeMs;
  if (stale) {
    mkdirSync(path.dirname(senderBinary), { recursive: true });
    // Build beside the target and rename: a parallel test file never runs a half-written binary.
    const tmp = `${senderBinary}.${process.pid}.tmp`;
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', tmp, senderSource], { stdio: 'inherit' });
    renameSync(tmp, senderBinary);
  }
  return senderBinary;
}

/**
 * sendFrames (test/helpers/traffic.ts) for an epair: the same frames and options, written
 * through /dev/bpf by build/tools/sendframes-bpf out of the peer end (or out of captureIf
 * with fromCaptureSide). Resolves with the number of frames the kernel accepted.
 */
export function sendFramesBpf(pair: VethPair, opts: SendOptions): Promise<{ sent: number }> {
  const frameSize = opts.frameSize ?? 64;
  if (frameSize < 60) throw new RangeError(`frameSize ${frameSize} < 60`);
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new RangeError(`bad count ${opts.count}`);
  const binary = ensureBpfSender();
  const fromCapture = opts.fromCaptureSide ?? false;
  const args = [
    fromCapture ? pair.captureIf : pair.peerIf,
    fromCapture ? pair.peerMac : pair.captureMac,
    fromCapture ? pair.captureMac : pair.peerMac,
    String(opts.count),
    String(opts.firstSeq ?? 0),
    String(frameSize),
    String(opts.ratePps ?? 0),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`sendframes-bpf exited with ${code}: ${err.trim()}`));
        return;
      }
      resolve({ sent: Number.parseInt(out.trim(), 10) });
    });
  });
}
