// One line per packet, decoded in place from the batch's bytes (nothing is copied): link
// layer, then IPv4 / IPv6 / ARP, then TCP / UDP / ICMP / ICMPv6, in tcpdump -n's words.
import { ipv4, ipv6, mac } from './addresses';

const DLT_NULL = 0;
const DLT_EN10MB = 1;
const DLT_RAW = 12;
const DLT_LOOP = 108;
const DLT_LINUX_SLL = 113;
const DLT_LINUX_SLL2 = 276;
const LINKTYPE_RAW = 101;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_IPV6 = 0x86dd;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
// AF_INET6 in a DLT_NULL / DLT_LOOP header: Linux, NetBSD/OpenBSD, FreeBSD, macOS.
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

/** The packet being decoded: bytes[start, end) were captured, `length` was on the wire. */
interface View {
  bytes: Uint8Array;
  start: number;
  end: number;
  length: number;
}

const u16 = (b: Uint8Array, at: number): number => (b[at] << 8) | b[at + 1];
const u32 = (b: Uint8Array, at: number): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const truncated = (what: string): string => `[|${what}]`;

export function summarize(bytes: Uint8Array, offset: number, caplen: number, length: number, linkType: number): string {
  const view: View = { bytes, start: offset, end: offset + caplen, length };
  switch (linkType) {
    case DLT_EN10MB:
      return ethernet(view, offset);
    case DLT_NULL:
    case DLT_LOOP:
      return loopback(view, offset, linkType === DLT_LOOP);
    case DLT_RAW:
    case LINKTYPE_RAW:
      return rawIp(view, offset);
    case DLT_LINUX_SLL:
      return view.end - offset < 16 ? truncated('sll') : network(view, u16(bytes, offset + 14), offset + 16, '');
    case DLT_LINUX_SLL2:
      return view.end - offset < 20 ? truncated('sll2') : network(view, u16(bytes, offset), offset + 20, '');
    default:
      return `link-type ${linkType}, length ${length}`;
  }
}

function ethernet(view: View, at: number): string {
  if (view.end - at < 14) return truncated('ether');
  const macs = `${mac(view.bytes, at + 6)} > ${mac(view.bytes, at)}`;
  let type = u16(view.bytes, at + 12);
  let next = at + 14;
  let prefix = '';
  // 802.1Q and 802.1ad tags: say which VLAN, then decode what they carry.
  while ((type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) && view.end - next >= 4) {
    prefix += `vlan ${u16(view.bytes, next) & 0x0fff}, `;
    type = u16(view.bytes, next + 2);
    next += 4;
  }
  if (type < 0x0600) return `${macs}, 802.3, length ${view.length}`;
  const decoded = network(view, type, next, prefix);
  return decoded || `${macs}, ${prefix}ethertype 0x${type.toString(16).padStart(4, '0')}, length ${view.length}`;
}

function loopback(view: View, at: number, networkOrder: boolean): string {
  if (view.end - at < 4) return truncated('null');
  const b = view.bytes;
  // DLT_NULL's family is in the capturing host's byte order: take whichever reads small.
  const little = (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
  const family = networkOrder || little > 0xffff ? u32(b, at) : little;
  if (family === AF_INET) return ip4(view, at + 4, '');
  if (AF_INET6.has(family)) return ip6(view, at + 4, '');
  return `loopback, address family ${family}, length ${view.length}`;
}

function rawIp(view: View, at: number): string {
  if (view.end - at < 1) return truncated('ip');
  const version = view.bytes[at] >> 4;
  if (version === 4) return ip4(view, at, '');
  if (version === 6) return ip6(view, at, '');
  return `IP version ${version}, length ${view.length}`;
}

/** The network layer for an ethertype; '' when it is not one we decode. */
function network(view: View, type: number, at: number, prefix: string): string {
  if (type === ETHERTYPE_IPV4) return ip4(view, at, prefix);
  if (type === ETHERTYPE_IPV6) return ip6(view, at, prefix);
  if (type === ETHERTYPE_ARP) return arp(view, at, prefix);
  return '';
}

function ip4(view: View, at: number, prefix: string): string {
  const b = view.bytes;
  if (view.end - at < 20) return `${prefix}IP ${truncated('ip')}`;
  const headerLength = (b[at] & 0x0f) * 4;
  const total = u16(b, at + 2);
  const protocol = b[at + 9];
  const src = ipv4(b, at + 12);
  const dst = ipv4(b, at + 16);
  const fragmentOffset = u16(b, at + 6) & 0x1fff;
  const payload = Math.max(0, total - headerLength);
  if (fragmentOffset !== 0) return `${prefix}IP ${src} > ${dst}: ip-proto-${protocol} (fragment at ${fragmentOffset * 8}), length ${payload}`;
  return transport(view, `${prefix}IP`, src, dst, protocol, at + headerLength, payload, false);
}

const IPV6_EXTENSIONS = new Set([0, 43, 60]); // hop-by-hop, routing, destination options
const IPV6_FRAGMENT = 44;

function ip6(view: View, at: number, prefix: string): string {
  const b = view.bytes;
  if (view.end - at < 40) return `${prefix}IP6 ${truncated('ip6')}`;
  const src = ipv6(b, at + 8);
  const dst = ipv6(b, at + 24);
  let payload = u16(b, at + 4);
  let next = b[at + 6];
  let header = at + 40;
  // Walk the extension headers to the transport header.
  while ((IPV6_EXTENSIONS.has(next) || next === IPV6_FRAGMENT) && view.end - header >= 8) {
    const size = next === IPV6_FRAGMENT ? 8 : (b[header + 1] + 1) * 8;
    if (next === IPV6_FRAGMENT && (u16(b, header + 2) & 0xfff8) !== 0) return `${prefix}IP6 ${src} > ${dst}: fragment, length ${payload}`;
    next = b[header];
    header += size;
    payload -= size;
  }
  return transport(view, `${prefix}IP6`, src, dst, next, header, Math.max(0, payload), true);
}

function transport(view: View, family: string, src: string, dst: string, protocol: number, at: number, payload: number, v6: boolean): string {
  switch (protocol) {
    case 6:
      return tcp(view, family, src, dst, at, payload);
    case 17:
      return udp(view, family, src, dst, at);
    case 1:
      if (!v6) return `${family} ${src} > ${dst}: ICMP ${icmp(view, at, ICMP4_TYPES)}, length ${payload}`;
      break;
    case 58:
      if (v6) return `${family} ${src} > ${dst}: ICMP6, ${icmp(view, at, ICMP6_TYPES)}, length ${payload}`;
      break;
  }
  return `${family} ${src} > ${dst}: ip-proto-${protocol}, length ${payload}`;
}

const TCP_FLAGS: Array<[number, string]> = [
  [0x01, 'F'], [0x02, 'S'], [0x04, 'R'], [0x08, 'P'], [0x20, 'U'], [0x40, 'E'], [0x80, 'W'], [0x10, '.'],
];

function tcp(view: View, family: string, src: string, dst: string, at: number, payload: number): string {
  const b = view.bytes;
  if (view.end - at < 20) return `${family} ${src} > ${dst}: ${truncated('tcp')}`;
  const flags = b[at + 13];
  const letters = TCP_FLAGS.filter(([bit]) => flags & bit).map(([, letter]) => letter).join('') || 'none';
  const data = Math.max(0, payload - (b[at + 12] >> 4) * 4);
  const ack = flags & 0x10 ? `, ack ${u32(b, at + 8)}` : '';
  return `${family} ${src}.${u16(b, at)} > ${dst}.${u16(b, at + 2)}: Flags [${letters}], seq ${u32(b, at + 4)}${ack}, win ${u16(b, at + 14)}, length ${data}`;
}

function udp(view: View, family: string, src: string, dst: string, at: number): string {
  const b = view.bytes;
  if (view.end - at < 8) return `${family} ${src} > ${dst}: ${truncated('udp')}`;
  return `${family} ${src}.${u16(b, at)} > ${dst}.${u16(b, at + 2)}: UDP, length ${Math.max(0, u16(b, at + 4) - 8)}`;
}

const ICMP4_TYPES: Record<number, string> = {
  0: 'echo reply', 3: 'destination unreachable', 5: 'redirect', 8: 'echo request', 11: 'time exceeded', 12: 'parameter problem',
};
const ICMP6_TYPES: Record<number, string> = {
  1: 'destination unreachable', 2: 'packet too big', 3: 'time exceeded', 4: 'parameter problem', 128: 'echo request',
  129: 'echo reply', 133: 'router solicitation', 134: 'router advertisement', 135: 'neighbor solicitation',
  136: 'neighbor advertisement', 137: 'redirect', 143: 'multicast listener report v2',
};
const ECHO_TYPES = new Set([0, 8, 128, 129]);

/** tcpdump's "10.0.0.2 udp port 53 unreachable", from the datagram quoted in an ICMP error. */
function portUnreachable(view: View, at: number): string {
  const b = view.bytes;
  const inner = at + 8;
  if (view.end - inner < 20) return '';
  const innerHeader = (b[inner] & 0x0f) * 4;
  const protocol = b[inner + 9];
  if ((protocol !== 6 && protocol !== 17) || view.end - inner < innerHeader + 4) return '';
  return `${ipv4(b, inner + 16)} ${protocol === 6 ? 'tcp' : 'udp'} port ${u16(b, inner + innerHeader + 2)} unreachable`;
}

function icmp(view: View, at: number, names: Record<number, string>): string {
  const b = view.bytes;
  if (view.end - at < 4) return truncated('icmp');
  const type = b[at];
  const PORT_UNREACHABLE = 3;
  if (names === ICMP4_TYPES && type === 3 && b[at + 1] === PORT_UNREACHABLE) return portUnreachable(view, at) || names[type];
  const name = names[type] ?? `type ${type}, code ${b[at + 1]}`;
  if (ECHO_TYPES.has(type) && view.end - at >= 8) return `${name}, id ${u16(b, at + 4)}, seq ${u16(b, at + 6)}`;
  return name;
}

function arp(view: View, at: number, prefix: string): string {
  const b = view.bytes;
  if (view.end - at < 28 || u16(b, at) !== 1 || u16(b, at + 2) !== ETHERTYPE_IPV4) return `${prefix}ARP, ${truncated('arp')}`;
  const op = u16(b, at + 6);
  const length = `length ${view.length - (at - view.start)}`;
  if (op === 1) return `${prefix}ARP, Request who-has ${ipv4(b, at + 24)} tell ${ipv4(b, at + 14)}, ${length}`;
  if (op === 2) return `${prefix}ARP, Reply ${ipv4(b, at + 14)} is-at ${mac(b, at + 8)}, ${length}`;
  return `${prefix}ARP, op ${op}, ${length}`;
}
