// Interfaces for -D and for choosing a default: Linux reads /sys/class/net, FreeBSD asks
// `ifconfig -l` and sysctl. Link types are what a capture on them will report.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { ZbpfError } from '../errors';
import { linkTypeName } from './link-names';

export interface InterfaceInfo {
  name: string;
  up: boolean;
  running: boolean;
  loopback: boolean;
  /** "EN10MB (Ethernet)", or why it cannot be captured. */
  linkType: string;
}

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

/** ARPHRD_* -> DLT_*, as zbpf's TPACKET provider labels them (native/linux/tpacket_ring.cc). */
const ARPHRD_TO_DLT: Record<number, number> = {
  1: 1, // ETHER
  772: 1, // LOOPBACK: Linux gives it a zeroed Ethernet header
  65534: 12, // NONE (tun, WireGuard)
  519: 12, // RAWIP
  768: 12, // TUNNEL
  769: 12, // TUNNEL6
  776: 12, // SIT
  512: 12, // PPP
  801: 105, // IEEE80211
  802: 119, // IEEE80211_PRISM
  803: 127, // IEEE80211_RADIOTAP
};

function readSys(name: string, file: string): string {
  return readFileSync(`/sys/class/net/${name}/${file}`, 'utf8').trim();
}

function linuxInterfaces(): InterfaceInfo[] {
  const names = readdirSync('/sys/class/net').filter((name) => existsSync(`/sys/class/net/${name}/flags`));
  return names
    .map((name) => {
      const flags = Number.parseInt(readSys(name, 'flags'), 16);
      const arphrd = Number(readSys(name, 'type'));
      const dlt = ARPHRD_TO_DLT[arphrd];
      return {
        index: Number(readSys(name, 'ifindex')),
        name,
        up: (flags & IFF_UP) !== 0,
        // sysfs flags lack IFF_RUNNING; operstate has it ("unknown" for loopback and dummies).
        running: ['up', 'unknown'].includes(readSys(name, 'operstate')),
        loopback: (flags & IFF_LOOPBACK) !== 0,
        linkType: dlt === undefined ? `not supported (ARPHRD ${arphrd})` : linkTypeName(dlt),
      };
    })
    .sort((a, b) => a.index - b.index)
    .map(({ index: _index, ...info }) => info);
}

/** FreeBSD: BPF reports DLT_NULL for loopback and IP tunnels, Ethernet for the rest we know. */
function freebsdLinkType(name: string): string {
  if (/^(lo|tun|gif|gre|wg|stf|me)\d/.test(name)) return linkTypeName(0);
  if (/^pflog\d/.test(name)) return linkTypeName(117);
  if (/^enc\d/.test(name)) return linkTypeName(109);
  return linkTypeName(1);
}

function freebsdInterfaces(): InterfaceInfo[] {
  const names = execFileSync('ifconfig', ['-l'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
  const up = new Set(execFileSync('ifconfig', ['-l', '-u'], { encoding: 'utf8' }).trim().split(/\s+/));
  const addresses = os.networkInterfaces();
  return names.map((name) => ({
    name,
    up: up.has(name),
    running: up.has(name),
    loopback: addresses[name]?.some((a) => a.internal) ?? /^lo\d/.test(name),
    linkType: freebsdLinkType(name),
  }));
}

export function listInterfaces(): InterfaceInfo[] {
  return process.platform === 'freebsd' ? freebsdInterfaces() : linuxInterfaces();
}

/** How zero-copy capture stands on this system, in a few words. */
export function zerocopyAvailability(provider: string | undefined): string {
  if (process.platform === 'linux' && provider !== 'bpf') return 'tpacket-v3 (kernel ring shared with zbpf)';
  let enabled = '';
  try {
    enabled = execFileSync('sysctl', ['-n', 'net.bpf.zerocopy_enable'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown (sysctl net.bpf.zerocopy_enable could not be read)';
  }
  return enabled === '1' ? 'zerocopy (net.bpf.zerocopy_enable=1)' : 'buffered only (`sysctl net.bpf.zerocopy_enable=1` enables zero-copy)';
}

export function formatInterfaces(interfaces: InterfaceInfo[], zerocopy: string): string {
  const lines = interfaces.map((i, n) => {
    const flags = [i.up && 'Up', i.running && 'Running', i.loopback && 'Loopback'].filter(Boolean).join(', ');
    return `${n + 1}.${i.name} [${flags}] link-type ${i.linkType}`;
  });
  return `${lines.join('\n')}\nzero-copy: ${zerocopy}\n`;
}

/** tcpdump's choice when no -i is given: the first interface that is up and not loopback. */
export function defaultInterface(): string {
  const chosen = listInterfaces().find((i) => i.up && i.running && !i.loopback);
  if (chosen) return chosen.name;
  throw new ZbpfError('no interface is up', { code: 'ENODEV', hint: 'give one with -i (zbpf -D lists them)' });
}

/** On Linux, a clear error for a misspelt interface before any socket is opened. */
export function checkInterfaceExists(name: string): void {
  if (process.platform !== 'linux' || existsSync(`/sys/class/net/${name}`)) return;
  throw new ZbpfError(`no interface named ${JSON.stringify(name)}`, { code: 'ENODEV', hint: 'zbpf -D lists the interfaces' });
}
