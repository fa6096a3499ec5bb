// Command-line parsing, tcpdump style: short options that may be grouped (-pc10), long
// options with `=` or a separate value, and everything after the options is the expression.
import type { Direction } from '../providers/provider';

export class UsageError extends Error {}

export interface CliOptions {
  interface?: string;
  count?: number;
  write?: string;
  read?: string;
  snaplen?: number;
  bufferKiB?: number;
  promiscuous: boolean;
  direction?: Direction;
  mode?: 'auto' | 'zerocopy' | 'buffered';
  provider?: 'bpf' | 'tpacket';
  immediate: boolean;
  listInterfaces: boolean;
  help: boolean;
  version: boolean;
  expression: string;
}

interface Spec {
  short?: string;
  long: string;
  value?: string;
  apply(options: CliOptions, value: string): void;
}

function positive(name: string, text: string, min = 1): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) throw new UsageError(`${name} needs a whole number of at least ${min}, not ${JSON.stringify(text)}`);
  return value;
}

/** The largest bufferSize openCapture takes (2^31 bytes), in the KiB that -B counts. */
const MAX_BUFFER_KIB = 2 ** 31 / 1024;

function bufferKiB(text: string): number {
  const value = positive('-B', text);
  if (value > MAX_BUFFER_KIB) throw new UsageError(`-B counts KiB: ${text} KiB is more than the largest buffer, ${MAX_BUFFER_KIB} KiB (2 GiB)`);
  return value;
}

function oneOf<T extends string>(name: string, text: string, allowed: readonly T[]): T {
  if (allowed.includes(text as T)) return text as T;
  throw new UsageError(`${name} is one of ${allowed.join(', ')}, not ${JSON.stringify(text)}`);
}

const SPECS: Spec[] = [
  { short: 'i', long: 'interface', value: 'IFACE', apply: (o, v) => (o.interface = v) },
  { short: 'c', long: 'count', value: 'COUNT', apply: (o, v) => (o.count = positive('-c', v)) },
  { short: 'w', long: 'write', value: 'FILE', apply: (o, v) => (o.write = v) },
  { short: 'r', long: 'read', value: 'FILE', apply: (o, v) => (o.read = v) },
  // tcpdump: -s 0 means the default (the largest) snap length.
  { short: 's', long: 'snapshot-length', value: 'SNAPLEN', apply: (o, v) => (o.snaplen = positive('-s', v, 0) || undefined) },
  { short: 'B', long: 'buffer-size', value: 'KiB', apply: (o, v) => (o.bufferKiB = bufferKiB(v)) },
  { short: 'p', long: 'no-promiscuous-mode', apply: (o) => (o.promiscuous = false) },
  { short: 'Q', long: 'direction', value: 'DIR', apply: (o, v) => (o.direction = oneOf('-Q', v, ['in', 'out', 'inout'] as const)) },
  { long: 'mode', value: 'MODE', apply: (o, v) => (o.mode = oneOf('--mode', v, ['auto', 'zerocopy', 'buffered'] as const)) },
  { long: 'provider', value: 'NAME', apply: (o, v) => (o.provider = oneOf('--provider', v, ['bpf', 'tpacket'] as const)) },
  { short: 'D', long: 'list-interfaces', apply: (o) => (o.listInterfaces = true) },
  { long: 'immediate', apply: (o) => (o.immediate = true) },
  { long: 'immediate-mode', apply: (o) => (o.immediate = true) },
  // Accepted from tcpdump habit: zbpf never resolves addresses or ports to names.
  { short: 'n', long: 'no-resolve', apply: () => undefined },
  { short: 'h', long: 'help', apply: (o) => (o.help = true) },
  { long: 'version', apply: (o) => (o.version = true) },
];

const byShort = new Map(SPECS.filter((s) => s.short).map((s) => [s.short as string, s]));
const byLong = new Map(SPECS.map((s) => [s.long, s]));

const unknown = (option: string): UsageError => new UsageError(`unknown option ${option}`);
const missingValue = (option: string, spec: Spec): UsageError => new UsageError(`${option} needs a value (${spec.value})`);

export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { promiscuous: true, immediate: false, listInterfaces: false, help: false, version: false, expression: '' };
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = (option: string, spec: Spec): string => {
      if (i + 1 >= argv.length) throw missingValue(option, spec);
      return argv[++i];
    };
    if (arg === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s, 2);
      const spec = byLong.get(name);
      if (!spec) throw unknown(`--${name}`);
      if (!spec.value && inline !== undefined) throw new UsageError(`--${name} takes no value`);
      spec.apply(options, spec.value ? (inline ?? next(`--${name}`, spec)) : '');
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Grouped short options: each flag in turn; one that takes a value takes the rest.
      for (let j = 1; j < arg.length; j++) {
        const spec = byShort.get(arg[j]);
        if (!spec) throw unknown(`-${arg[j]}`);
        if (!spec.value) {
          spec.apply(options, '');
          continue;
        }
        spec.apply(options, j + 1 < arg.length ? arg.slice(j + 1) : next(`-${arg[j]}`, spec));
        break;
      }
      continue;
    }
    words.push(arg);
  }
  options.expression = words.join(' ');
  checkCombination(options);
  return options;
}

function checkCombination(options: CliOptions): void {
  if (!options.read) return;
  const live = [
    options.interface !== undefined && '-i',
    options.bufferKiB !== undefined && '-B',
    !options.promiscuous && '-p',
    options.direction !== undefined && '-Q',
    options.mode !== undefined && '--mode',
    options.provider !== undefined && '--provider',
    options.immediate && '--immediate',
  ].filter(Boolean);
  if (live.length === 0) return;
  const verb = live.length === 1 ? 'applies' : 'apply';
  throw new UsageError(`${live.join(', ')} ${verb} only to live captures, not to -r (reading a file)`);
}

export const USAGE = `usage: zbpf [-i IFACE] [-c COUNT] [-w FILE] [-r FILE] [-s SNAPLEN] [-B BUFFER_KiB]
            [-p] [-Q in|out|inout] [--mode auto|zerocopy|buffered] [--provider bpf|tpacket]
            [-D] [--immediate] [EXPRESSION...]

Captures packets through memory shared with the kernel (FreeBSD zero-copy BPF, Linux
TPACKET_V3) and prints one line per packet, or writes them to a file.

  -i IFACE           interface to capture on (default: the first one that is up, not loopback)
  -c COUNT           stop after COUNT packets
  -w FILE            write packets to FILE: pcapng if it ends in .pcapng, else pcap
                     (nanosecond timestamps); "-" writes to standard output
  -r FILE            read packets from a pcap or pcapng FILE instead of an interface
  -s SNAPLEN         bytes kept of each packet (default and 0: 262144)
  -B BUFFER_KiB      kernel buffer size in KiB (BPF: each of the two buffers; TPACKET: the ring)
  -p                 do not put the interface in promiscuous mode
  -Q DIRECTION       capture packets going in, out, or both (inout, the default)
  --mode MODE        BPF only: zerocopy, buffered, or auto (zero-copy if the kernel allows)
  --provider NAME    bpf (/dev/bpf) or tpacket (Linux AF_PACKET); default: the system's own
  --immediate        deliver each packet as soon as it arrives
  -D                 list interfaces, their link types and whether zero-copy capture is available
  -n                 accepted for tcpdump habits: zbpf never resolves names
  --help, --version

EXPRESSION is a pcap-filter(7) expression, e.g. 'tcp port 443 and host 10.0.0.1', compiled
with the system's libpcap.

Exit status: 0 when done (count reached, end of file, Ctrl-C or SIGTERM), 1 on a runtime
error (permission, interface, filter, file), 2 on a usage error.`;
