import { invalidOption } from '../errors';

/** One classic-BPF instruction (struct bpf_insn / struct sock_filter). */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const BPF_MAXINSNS = 512;
const BPF_CLASS_MASK = 0x07;
const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_K = 0x00;
const BPF_JA = 0x00;
const BPF_OP_MASK = 0xf0;
const BPF_RVAL_MASK = 0x18;
const INSN_SIZE = 8;

/** `ret #snaplen`: accept every packet, truncated to snaplen. */
export function acceptAll(snaplen: number): BpfInstruction[] {
  return [{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: snaplen }];
}

function checkInstruction(insn: BpfInstruction, index: number, count: number): void {
  const where = `filter[${index}]`;
  if (!Number.isInteger(insn.code) || insn.code < 0 || insn.code > 0xffff) throw invalidOption(where, 'code must be a 16-bit integer');
  if (!Number.isInteger(insn.jt) || insn.jt < 0 || insn.jt > 0xff) throw invalidOption(where, 'jt must be an 8-bit integer');
  if (!Number.isInteger(insn.jf) || insn.jf < 0 || insn.jf > 0xff) throw invalidOption(where, 'jf must be an 8-bit integer');
  if (!Number.isInteger(insn.k) || insn.k < -0x8000_0000 || insn.k > 0xffff_ffff) throw invalidOption(where, 'k must be a 32-bit integer');
  if ((insn.code & BPF_CLASS_MASK) !== BPF_JMP) return;
  // Jumps only go forward and must land inside the program, as the kernel's validator demands.
  const targets = (insn.code & BPF_OP_MASK) === BPF_JA ? [insn.k >>> 0] : [insn.jt, insn.jf];
  for (const offset of targets) {
    if (index + 1 + offset >= count) throw invalidOption(where, `jump lands past the end of the ${count}-instruction program`);
  }
}

/**
 * Checks a program the way the kernel would before it is attached, and caps every
 * `ret #k` at snaplen (a filter's return value is its snap length).
 */
export function normalizeProgram(program: readonly BpfInstruction[], snaplen: number): BpfInstruction[] {
  if (!Array.isArray(program) || program.length === 0) throw invalidOption('filter', 'a program needs at least one instruction');
  if (program.length > BPF_MAXINSNS) {
    throw invalidOption('filter', `${program.length} instructions is more than the kernel's limit of ${BPF_MAXINSNS} (net.bpf.maxinsns)`);
  }
  const last = program[program.length - 1];
  if ((last.code & BPF_CLASS_MASK) !== BPF_RET) throw invalidOption('filter', 'the last instruction must be a return (BPF_RET)');
  return program.map((insn, index) => {
    checkInstruction(insn, index, program.length);
    const isConstantReturn = (insn.code & BPF_CLASS_MASK) === BPF_RET && (insn.code & BPF_RVAL_MASK) === BPF_K;
    const k = isConstantReturn ? Math.min(insn.k >>> 0, snaplen) : insn.k >>> 0;
    return { code: insn.code, jt: insn.jt, jf: insn.jf, k };
  });
}

/** Packs instructions into the 8-byte, host-order layout both kernels take. */
export function packProgram(program: readonly BpfInstruction[]): Uint8Array {
  const bytes = new Uint8Array(program.length * INSN_SIZE);
  const view = new DataView(bytes.buffer);
  program.forEach((insn, index) => {
    const at = index * INSN_SIZE;
    view.setUint16(at, insn.code, true);
    view.setUint8(at + 2, insn.jt);
    view.setUint8(at + 3, insn.jf);
    view.setUint32(at + 4, insn.k, true);
  });
  return bytes;
}
