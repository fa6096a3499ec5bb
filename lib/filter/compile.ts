import { fromNative, invalidOption, ZbpfError } from '../errors';
import { dltFromLinktype } from '../files/linktype';
import { native } from '../native';
import { isFilterDump, parseFilterDump } from './dump';
import { unpackProgram, type BpfInstruction } from './program';

/** A filter as `CaptureOptions.filter` and `Capture.setFilter` take it. */
export type FilterSource = string | readonly BpfInstruction[];

export interface CompileOptions {
  /** DLT_* of the packets the program will see: `capture.linkType` (a file's LINKTYPE_* works too). */
  linkType: number;
  /** Bytes kept per packet: the value of the program's accepting `ret`. */
  snaplen: number;
}

function noLibpcapHint(platform: string): string {
  const alternatives = 'or set ZBPF_LIBPCAP to the library file, or pass the program as instructions or `tcpdump -dd` text';
  if (platform === 'freebsd') return `libpcap.so.8 is part of the FreeBSD base system: check that /usr/lib/libpcap.so.8 exists, ${alternatives}`;
  return `install libpcap (Debian/Ubuntu: \`apt-get install libpcap0.8\`, Fedora/RHEL: \`dnf install libpcap\`), ${alternatives}`;
}

function compileError(expression: string, error: unknown): unknown {
  const shape = fromNative(error);
  if (!(shape instanceof ZbpfError)) return shape;
  const quoted = JSON.stringify(expression);
  if (shape.code === 'ERR_ZBPF_NO_LIBPCAP') {
    return new ZbpfError(`filter expression ${quoted} needs libpcap, which could not be loaded: ${shape.message}`, {
      code: shape.code,
      hint: noLibpcapHint(native().platform),
    });
  }
  return new ZbpfError(`bad filter expression ${quoted}: ${shape.message}`, {
    code: shape.code,
    hint: 'fix the expression: its syntax is in `man pcap-filter`',
  });
}

/**
 * Compiles a pcap-filter(7) expression ('tcp port 443 and host 10.0.0.1') with the system's
 * libpcap, exactly as tcpdump would for that link type (optimised, netmask unknown).
 */
export function compileFilter(expression: string, { linkType, snaplen }: CompileOptions): BpfInstruction[] {
  if (typeof expression !== 'string') throw invalidOption('filter', 'an expression must be a string');
  // libpcap reads a C string: everything after a NUL would be dropped, widening the filter.
  if (expression.includes('\0')) throw invalidOption('filter', 'the expression contains a NUL character; remove it (libpcap would ignore everything after it)');
  if (!Number.isInteger(linkType) || linkType < 0) throw invalidOption('linkType', `${String(linkType)} is not a DLT_* number`);
  if (!Number.isInteger(snaplen) || snaplen < 1) throw invalidOption('snaplen', `${String(snaplen)} must be a positive integer`);
  try {
    const dlt = dltFromLinktype(linkType); // pcap_open_dead takes a DLT; they differ for a few types
    return unpackProgram(new Uint8Array(native().compileFilter(expression, dlt, snaplen)));
  } catch (error) {
    throw compileError(expression, error);
  }
}

/**
 * The instructions of a filter that needs no link type: an array as it is, `tcpdump -dd` text
 * parsed. null for an expression, which only libpcap can turn into instructions.
 */
export function literalInstructions(filter: FilterSource): readonly BpfInstruction[] | null {
  if (typeof filter === 'string') return isFilterDump(filter) ? parseFilterDump(filter) : null;
  if (Array.isArray(filter)) return filter;
  throw invalidOption('filter', 'give a pcap-filter expression string, `tcpdump -dd` text, or an array of { code, jt, jf, k }');
}

/** The instructions of any filter form; an expression is compiled for options.linkType. */
export function filterInstructions(filter: FilterSource, options: CompileOptions): readonly BpfInstruction[] {
  return literalInstructions(filter) ?? compileFilter(filter as string, options);
}
