// FreeBSD's counterpart of test/helpers/netns.ts: an epair(4) instead of a veth pair with one
// end in a network namespace. FreeBSD has no namespaces outside VNET jails, so both ends stay
// in the host's stack; nothing routes over them because neither end has an address. Frames
// written to one end (epairNb, the peer) arrive on the other (epairNa, where tests capture).
// Sending needs no namespace either: build/tools/sendframes-bpf writes frames through
// /dev/bpf (test/tools/sendframes-bpf.c), the FreeBSD stand-in for sendframes.c's AF_PACKET.
import { execFileSync } from 'node:child_process';
import type { VethPair } from './netns';
import { buildTool, destroyAtExit, forgetAtExit, runSender, senderArgs } from './tools';
import type { SendOptions } from './traffic';


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
    forgetAtExit(destroy);
    try {
      ifconfig([captureIf, 'destroy']); // destroying one end removes both
    } catch {
      // Already gone (a test destroyed it on purpose): destroy() is idempotent.
    }
  };
  destroyAtExit(destroy);

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

/**
 * sendFrames (test/helpers/traffic.ts) for an epair: the same frames and options, written
 * through /dev/bpf by build/tools/sendframes-bpf out of the peer end (or out of captureIf
 * with fromCaptureSide). Resolves with the number of frames the kernel accepted.
 */
export function sendFramesBpf(pair: VethPair, opts: SendOptions): Promise<{ sent: number }> {
  return runSender(buildTool('sendframes-bpf'), senderArgs(pair, opts));
}
