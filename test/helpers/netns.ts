// Network-namespace helpers for tests that need real frames on a real interface.
// A veth pair: one end stays in the current (root) netns for capture, the other lives in a
// namespace created here, so test traffic never leaves the pair.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { canUseEpair, createEpairPair } from './freebsd-pair';
import { destroyAtExit, forgetAtExit } from './tools';

/** True when we are root and the `ip` tool is available (what createVethPair needs). */
export function canUseNetns(): boolean {
  if (process.platform === 'freebsd') return canUseEpair();
  if (typeof process.geteuid !== 'function' || process.geteuid() !== 0) return false;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface VethPair {
  /** End left in the current (root) netns: up, no addresses, IPv6 disabled. */
  captureIf: string;
  captureMac: string;
  /** The namespace this helper created for the other end. */
  peerNs: string;
  /** The other end, inside peerNs: up, no addresses, IPv6 disabled. */
  peerIf: string;
  peerMac: string;
  /** Idempotent: deletes the veth (both ends) and the namespace. */
  destroy(): void;
}

let pairCounter = 0;
function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function ipQuiet(args: string[]): void {
  try {
    execFileSync('ip', args, { stdio: 'ignore' });
  } catch {
    // Already gone: destroy() is idempotent.
  }
}

// With IPv6 enabled the kernel sends router solicitations and MLD reports by itself as soon
// as a link comes up; disabling it keeps the pair silent apart from the test's own frames.
function disableIpv6InRootNs(ifname: string): void {
  const knob = `/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6`;
  if (existsSync(knob)) writeFileSync(knob, '1');
}

function disableIpv6InNs(ns: string, ifname: string): void {
  const script = `k=/proc/sys/net/ipv6/conf/${ifname}/disable_ipv6; if [ -e $k ]; then echo 1 > $k; fi`;
  execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', script], { stdio: 'ignore' });
}

function macOf(ifname: string): string {
  return readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
}

function macInNs(ns: string, ifname: string): string {
  const links = JSON.parse(ip(['-n', ns, '-j', 'link', 'show', 'dev', ifname])) as Array<{ address: string }>;
  return links[0].address;
}

/**
 * Creates a veth pair with unique names (pid and counter based, at most 15 characters) and
 * registers destroy() on process 'exit' as a safety net.
 */
export function createVethPair(): VethPair {
  if (process.platform === 'freebsd') return createEpairPair();
  pairCounter += 1;
  const tag = `${process.pid.toString(36)}${pairCounter.toString(36)}`;
  const captureIf = `zb${tag}c`.slice(0, 15);
  const peerIf = `zb${tag}p`.slice(0, 15);
  const peerNs = `zbns${tag}`;

  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    forgetAtExit(destroy);
    ipQuiet(['link', 'del', captureIf]); // deleting one end removes both
    ipQuiet(['netns', 'del', peerNs]);
  };
  destroyAtExit(destroy);

  try {
    ip(['netns', 'add', peerNs]);
    ip(['link', 'add', captureIf, 'type', 'veth', 'peer', 'name', peerIf, 'netns', peerNs]);
    disableIpv6InRootNs(captureIf);
    disableIpv6InNs(peerNs, peerIf);
    ip(['link', 'set', captureIf, 'up']);
    ip(['-n', peerNs, 'link', 'set', peerIf, 'up']);
    return {
      captureIf,
      captureMac: macOf(captureIf),
      peerNs,
      peerIf,
      peerMac: macInNs(peerNs, peerIf),
      destroy,
    };
  } catch (err) {
    destroy();
    throw err;
  }
}
