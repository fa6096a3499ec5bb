// Runs a classic-BPF program in JavaScript, as the kernel would on a packet: used where no
// kernel filters for us (reading capture files with an expression). Same semantics as
// libpcap's bpf_filter: a load outside the captured bytes or a division by zero rejects.
// Of Linux's ancillary loads it knows the VLAN ones, which forStrippedVlanTags() emits, so the
// tests can check that rewrite here as well as on the kernel; any other rejects.
import type { BpfInstruction } from './program';
import { BPF_MEMWORDS } from './program';
import { SKF_AD_OFF, SKF_AD_VLAN_TAG, SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TPID } from './stripped-vlan';

/** A VLAN tag the kernel keeps beside the packet (Linux's skb->vlan_tci and vlan_proto). */
export interface VlanMetadata {
  tci: number;
  tpid: number;
}

export class BpfInterpreter {
  private readonly codes: Uint16Array;
  private readonly jt: Uint8Array;
  private readonly jf: Uint8Array;
  private readonly k: Uint32Array;
  private readonly memory = new Uint32Array(BPF_MEMWORDS);

  /** `program` should have passed normalizeProgram (the checks the kernel makes). */
  constructor(program: readonly BpfInstruction[]) {
    this.codes = Uint16Array.from(program, (insn) => insn.code);
    this.jt = Uint8Array.from(program, (insn) => insn.jt);
    this.jf = Uint8Array.from(program, (insn) => insn.jf);
    this.k = Uint32Array.from(program, (insn) => insn.k >>> 0);
  }

  /**
   * Bytes of the packet to keep (0: reject), for the packet at bytes[offset, offset + caplen).
   * `vlan`: the tag Linux's ancillary loads report (none: no tag, as for a capture file).
   */
  run(bytes: Uint8Array, offset: number, caplen: number, wirelen: number, vlan?: VlanMetadata): number {
    const { codes, jt, jf, k, memory } = this;
    let a = 0;
    let x = 0;
    for (let pc = 0; pc < codes.length; pc++) {
      const code = codes[pc];
      const kk = k[pc];
      switch (code) {
        case 0x06: return kk; // ret #k
        case 0x16: return a; // ret a
        case 0x0e: return x; // ret x
        case 0x20: case 0x28: case 0x30: // ld [k] (w, h, b)
        case 0x40: case 0x48: case 0x50: { // ld [x + k]
          if (code < 0x40 && kk >= SKF_AD_OFF) {
            const value = ancillary(kk - SKF_AD_OFF, vlan);
            if (value < 0) return 0;
            a = value;
            break;
          }
          const at = code >= 0x40 ? x + kk : kk;
          const size = (code & 0x18) === 0 ? 4 : (code & 0x18) === 0x08 ? 2 : 1;
          if (at + size > caplen) return 0;
          a = readBigEndian(bytes, offset + at, size);
          break;
        }
        case 0xb1: // ldx 4 * ([k] & 0xf)
          if (kk >= caplen) return 0;
          x = (bytes[offset + kk] & 0x0f) << 2;
          break;
        case 0x80: a = wirelen; break; // ld #len
        case 0x81: x = wirelen; break; // ldx #len
        case 0x00: a = kk; break; // ld #k
        case 0x01: x = kk; break; // ldx #k
        case 0x60: a = memory[kk]; break; // ld M[k]
        case 0x61: x = memory[kk]; break; // ldx M[k]
        case 0x02: memory[kk] = a; break; // st M[k]
        case 0x03: memory[kk] = x; break; // stx M[k]
        case 0x07: x = a; break; // tax
        case 0x87: a = x; break; // txa
        case 0x05: pc += kk; break; // ja
        case 0x15: pc += a === kk ? jt[pc] : jf[pc]; break;
        case 0x25: pc += a > kk ? jt[pc] : jf[pc]; break;
        case 0x35: pc += a >= kk ? jt[pc] : jf[pc]; break;
        case 0x45: pc += (a & kk) !== 0 ? jt[pc] : jf[pc]; break;
        case 0x1d: pc += a === x ? jt[pc] : jf[pc]; break;
        case 0x2d: pc += a > x ? jt[pc] : jf[pc]; break;
        case 0x3d: pc += a >= x ? jt[pc] : jf[pc]; break;
        case 0x4d: pc += (a & x) !== 0 ? jt[pc] : jf[pc]; break;
        case 0x84: a = -a >>> 0; break; // neg
        default: {
          if ((code & 0x07) !== 0x04) return 0; // not an ALU op: normalizeProgram rejects these
          const operand = code & 0x08 ? x : kk;
          const result = alu(code & 0xf0, a, operand);
          if (result < 0) return 0; // division by zero
          a = result;
        }
      }
    }
    return 0;
  }
}

/** Linux's ancillary loads that concern VLAN tags; -1 for the others (not modelled). */
function ancillary(field: number, vlan: VlanMetadata | undefined): number {
  switch (field) {
    case SKF_AD_VLAN_TAG_PRESENT: return vlan ? 1 : 0;
    case SKF_AD_VLAN_TAG: return vlan ? vlan.tci : 0;
    case SKF_AD_VLAN_TPID: return vlan ? vlan.tpid : 0;
    default: return -1;
  }
}

function readBigEndian(bytes: Uint8Array, at: number, size: number): number {
  if (size === 1) return bytes[at];
  if (size === 2) return (bytes[at] << 8) | bytes[at + 1];
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** 32-bit unsigned ALU; -1 for a division by zero. */
function alu(op: number, a: number, b: number): number {
  switch (op) {
    case 0x00: return (a + b) >>> 0;
    case 0x10: return (a - b) >>> 0;
    case 0x20: return Math.imul(a, b) >>> 0;
    case 0x30: return b === 0 ? -1 : Math.floor(a / b);
    case 0x90: return b === 0 ? -1 : a % b;
    case 0x40: return (a | b) >>> 0;
    case 0x50: return (a & b) >>> 0;
    case 0xa0: return (a ^ b) >>> 0;
    case 0x60: return b >= 32 ? 0 : (a << b) >>> 0;
    case 0x70: return b >= 32 ? 0 : a >>> b;
    default: return -1;
  }
}
