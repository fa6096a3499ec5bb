import { invalidOption } from '../errors';

/** One classic-BPF instruction (struct bpf_insn / struct sock_filter). */
export interface BpfInstruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Scratch memory words M[0..15] (BPF_MEMWORDS). */
export const BPF_MEMWORDS = 16;
export const BPF_CLASS_MASK = 0x07;
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
const BPF_RET = 0x06;
const BPF_K = 0x00;
export const BPF_JA = 0x00;
export const BPF_MEM = 0x60;
const BPF_OP_MASK = 0xf0;
const BPF_SRC_X = 0x08;
const BPF_RVAL_MASK = 0x18;
const ALU_DIV = 0x30;
const ALU_LSH = 0x60;
const ALU_RSH = 0x70;
const ALU_MOD = 0x90;
const INSN_SIZE = 8;

/**
 * Every opcode classic BPF defines, as both kernels' validators (FreeBSD bpf_validate, Linux
 * bpf_check_classic) accept them: loads, stores, ALU with K or X, jumps, returns, TAX/TXA.
 */
const VALID_CODES = new Set([
  0x00, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x60, 0x80, // ld: imm, abs w/h/b, ind w/h/b, mem, len
  0x01, 0x61, 0x81, 0xb1, // ldx: imm, mem, len, msh
  0x02, 0x03, // st, stx
  ...[0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0].flatMap((op) => [0x04 | op, 0x0c | op]), // alu
  0x84, // neg
  0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, // ja, jeq, jgt, jge, jset (k, x)
  0x06, 0x0e, 0x16, // ret k, x, a
  0x07, 0x87, // tax, txa
]);

/** `ret #snaplen`: accept every packet, truncated to snaplen. */
export function acceptAll(snaplen: number): BpfInstruction[] {
  return [{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: snaplen }];
}

/** `ret #0`: keep nothing, until the real filter replaces it. */
export function rejectAll(): BpfInstruction[] {
  return [{ code: BPF_RET | BPF_K, jt: 0, jf: 0, k: 0 }];
}

function checkFields(insn: BpfInstruction, where: string): void {
  if (!Number.isInteger(insn.code) || insn.code < 0 || insn.code > 0xffff) throw invalidOption(where, 'code must be a 16-bit integer');
  if (!Number.isInteger(insn.jt) || insn.jt < 0 || insn.jt > 0xff) throw invalidOption(where, 'jt must be an 8-bit integer');
  if (!Number.isInteger(insn.jf) || insn.jf < 0 || insn.jf > 0xff) throw invalidOption(where, 'jf must be an 8-bit integer');
  if (!Number.isInteger(insn.k) || insn.k < -0x8000_0000 || insn.k > 0xffff_ffff) throw invalidOption(where, 'k must be a 32-bit integer');
}

const usesMemory = (code: number): boolean =>
  code === BPF_ST || code === BPF_STX || code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM);

function checkOperands(insn: BpfInstruction, where: string): void {
  const { code } = insn;
  const k = insn.k >>> 0;
  if (!VALID_CODES.has(code)) throw invalidOption(where, `0x${code.toString(16)} is not a classic-BPF opcode`);
  if (usesMemory(code) && k >= BPF_MEMWORDS) throw invalidOption(where, `scratch memory M[${k}] does not exist (M[0] to M[${BPF_MEMWORDS - 1}])`);
  if ((code & BPF_CLASS_MASK) !== BPF_ALU || (code & BPF_SRC_X) !== 0) return;
  const op = code & BPF_OP_MASK;
  if ((op === ALU_DIV || op === ALU_MOD) && k === 0) throw invalidOption(where, 'division by the constant 0');
  if ((op === ALU_LSH || op === ALU_RSH) && k >= 32) throw invalidOption(where, `shift by ${k} bits (Linux refuses 32 or more)`);
}

function checkInstruction(insn: BpfInstruction, index: number, count: number): void {
  const where = `filter[${index}]`;
  checkFields(insn, where);
  checkOperands(insn, where);
  if ((insn.code & BPF_CLASS_MASK) !== BPF_JMP) return;
  // Jumps only go forward and must land inside the program, as the kernel's validator demands.
  const targets = (insn.code & BPF_OP_MASK) === BPF_JA ? [insn.k >>> 0] : [insn.jt, insn.jf];
  for (const offset of targets) {
    if (index + 1 + offset >= count) throw invalidOption(where, `jump lands past the end of the ${count}-instruction program`);
  }
}

/**
 * Linux refuses a program that may read a scratch word before any path stored it
 * (check_load_and_stores): track, per instruction, the words stored on every path to it.
 */
function checkMemoryInitialised(program: readonly BpfInstruction[]): void {
  const ALL = (1 << BPF_MEMWORDS) - 1;
  const stored = new Array<number>(program.length).fill(ALL);
  stored[0] = 0;
  program.forEach((insn, index) => {
    let valid = stored[index];
    const { code } = insn;
    const k = insn.k >>> 0;
    if ((code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) && (valid & (1 << k)) === 0) {
      throw invalidOption(`filter[${index}]`, `reads M[${k}] before it is stored on some path`);
    }
    if (code === BPF_ST || code === BPF_STX) valid |= 1 << k;
    const flowTo = (target: number): void => {
      if (target < program.length) stored[target] &= valid;
    };
    if ((code & BPF_CLASS_MASK) === BPF_RET) return;
    if ((code & BPF_CLASS_MASK) !== BPF_JMP) return flowTo(index + 1);
    if ((code & BPF_OP_MASK) === BPF_JA) return flowTo(index + 1 + k);
    flowTo(index + 1 + insn.jt);
    flowTo(index + 1 + insn.jf);
  });
}

/**
 * Checks a program the way the kernel would before it is attached, and caps every
 * `ret #k` at snaplen (a filter's return value is its snap length).
 */
export function normalizeProgram(program: readonly BpfInstruction[], snaplen: number): BpfInstruction[] {
  if (!Array.isArray(program) || program.length === 0) throw invalidOption('filter', 'a program needs at least one instruction');
  // The instruction limit is the kernel's own (Linux: BPF_MAXINSNS, 4096; FreeBSD: the
  // net.bpf.maxinsns sysctl), checked where the program is attached, with an error naming it.
  const last = program[program.length - 1];
  if ((last.code & BPF_CLASS_MASK) !== BPF_RET) throw invalidOption('filter', 'the last instruction must be a return (BPF_RET)');
  program.forEach((insn, index) => checkInstruction(insn, index, program.length));
  checkMemoryInitialised(program);
  return program.map((insn) => {
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

/** Reads packed 8-byte, host-order instructions back into objects. */
export function unpackProgram(bytes: Uint8Array): BpfInstruction[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const program: BpfInstruction[] = [];
  for (let at = 0; at + INSN_SIZE <= bytes.byteLength; at += INSN_SIZE) {
    program.push({ code: view.getUint16(at, true), jt: view.getUint8(at + 2), jf: view.getUint8(at + 3), k: view.getUint32(at + 4, true) });
  }
  return program;
}
