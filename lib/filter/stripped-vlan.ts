// Linux takes the 802.1Q/802.1ad tag off every Ethernet frame it receives before a packet socket
// sees it (skb_vlan_untag in __netif_receive_skb_core), and frames sent through a VLAN device
// often carry theirs beside the data too (VLAN offload). The tag then lives in the socket
// buffer's metadata, which a filter reads with ancillary loads. A program compiled for the frame
// as it was on the wire (libpcap's code for `vlan 100`, or for `ip` that must not match a tagged
// frame, as in capture files and, going by its source, on FreeBSD) would read the wrong bytes.
//
// forStrippedVlanTags() returns a program the kernel can run on either kind of packet: untagged
// packets run the original; tagged ones run a copy whose reads see the wire frame: bytes 12-15
// come from the tag, bytes from 16 on sit 4 bytes earlier in the data, the length is 4 more.
import type { BpfInstruction } from './program';
import { BPF_CLASS_MASK, BPF_JA, BPF_JMP, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMWORDS, BPF_ST, BPF_STX } from './program';

/** Linux's ancillary-data offsets (include/uapi/linux/filter.h). */
export const SKF_AD_OFF = 0xfffff000;
export const SKF_AD_VLAN_TAG = 44;
export const SKF_AD_VLAN_TAG_PRESENT = 48;
export const SKF_AD_VLAN_TPID = 60;

const TAG_START = 12;
const TAG_END = 16;
const TAG_LEN = 4;
/** A k this large is a negative offset: one of Linux's special areas (SKF_LL_OFF, SKF_NET_OFF, ancillary). */
const FIRST_NEGATIVE = 0x8000_0000;

const LD_ABS = 0x20;
const LD_IND = 0x40;
const LD_MODE_MASK = 0xe0;
const SIZE_MASK = 0x18;
const LD_IMM = 0x00;
const LD_LEN = 0x80;
const LDX_LEN = 0x81;
const LDX_MSH = 0xb1;
const LD_MEM = BPF_LD | BPF_MEM;
const LDX_MEM = BPF_LDX | BPF_MEM;
const JA = BPF_JMP | BPF_JA;
const ALU_ADD_K = 0x04;
const ALU_AND_K = 0x54;
const ALU_LSH_K = 0x64;
const ALU_RSH_K = 0x74;
const ALU_OR_X = 0x4c;
const TAX = 0x07;
const TXA = 0x87;
const JGE_K = 0x35;
const JEQ_K = 0x15;
const LD_H_ABS = 0x28;
const LD_B_ABS = 0x30;
const MAX_JUMP = 0xff;

const insn = (code: number, k = 0, jt = 0, jf = 0): BpfInstruction => ({ code, jt, jf, k: k >>> 0 });
const ancillary = (field: number): BpfInstruction => insn(LD_H_ABS, SKF_AD_OFF + field);
const loadSize = (code: number): number => [4, 2, 1, 0][(code & SIZE_MASK) >>> 3];

/**
 * The program to attach on a Linux packet socket for a program written for frames as they were
 * on the wire. Returns a copy of `program` when it reads no packet byte (nothing to see
 * differently), and null when a read cannot be moved (see taggedCopy): attached as it is, such
 * a program judges tagged packets without their tag, as libpcap's filters judge them.
 */
export function forStrippedVlanTags(program: readonly BpfInstruction[]): BpfInstruction[] | null {
  if (!readsPacket(program)) return [...program];
  const tagged = taggedCopy(program);
  if (tagged === null) return null;
  return [
    insn(LD_B_ABS, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT),
    insn(JEQ_K, 0, 1, 0),
    insn(JA, program.length + 1),
    // Both copies start as the kernel starts a program: A = 0 (X is still 0).
    insn(LD_IMM, 0),
    ...program,
    insn(LD_IMM, 0),
    ...tagged,
  ];
}

function readsPacket(program: readonly BpfInstruction[]): boolean {
  return program.some(({ code }) => {
    const mode = code & LD_MODE_MASK;
    const isLoad = (code & BPF_CLASS_MASK) === BPF_LD;
    return (isLoad && (mode === LD_ABS || mode === LD_IND)) || code === LDX_MSH || code === LD_LEN || code === LDX_LEN;
  });
}

/**
 * The program with every packet read moved to where the untagged data holds that byte, and its
 * jumps stretched over the instructions that took more than one. Null when a read cannot be
 * moved: an indexed read whose constant part is below 4, a fixed read straddling byte 12 or
 * 16, a special-area read, a read that needs a scratch word when the program uses all 16, or
 * a jump stretched past 255.
 */
function taggedCopy(program: readonly BpfInstruction[]): BpfInstruction[] | null {
  const scratch = freeScratchWord(program);
  const pieces: BpfInstruction[][] = [];
  for (const original of program) {
    const piece = moveRead(original, scratch);
    if (piece === null) return null;
    pieces.push(piece);
  }
  const starts: number[] = [];
  let length = 0;
  for (const piece of pieces) {
    starts.push(length);
    length += piece.length;
  }
  const out: BpfInstruction[] = [];
  for (let index = 0; index < program.length; index++) {
    const piece = pieces[index];
    if ((program[index].code & BPF_CLASS_MASK) !== BPF_JMP) {
      out.push(...piece);
      continue;
    }
    const jump = stretchJump(program[index], index, starts);
    if (jump === null) return null;
    out.push(jump);
  }
  return out;
}

/** A jump of the original at `index`, re-aimed at the same instructions in the copy. */
function stretchJump(jump: BpfInstruction, index: number, starts: readonly number[]): BpfInstruction | null {
  const distance = (offset: number): number => starts[index + 1 + offset] - starts[index] - 1;
  if (jump.code === JA) return insn(JA, distance(jump.k >>> 0));
  const jt = distance(jump.jt);
  const jf = distance(jump.jf);
  if (jt > MAX_JUMP || jf > MAX_JUMP) return null;
  return { code: jump.code, jt, jf, k: jump.k };
}

/** A scratch word no instruction of the program touches, or -1. */
function freeScratchWord(program: readonly BpfInstruction[]): number {
  const used = new Set<number>();
  for (const { code, k } of program) {
    if (code === BPF_ST || code === BPF_STX || code === LD_MEM || code === LDX_MEM) used.add(k >>> 0);
  }
  for (let word = BPF_MEMWORDS - 1; word >= 0; word--) if (!used.has(word)) return word;
  return -1;
}

/** What replaces one instruction in the tagged copy (itself when it reads no packet byte). */
function moveRead(original: BpfInstruction, scratch: number): BpfInstruction[] | null {
  const { code } = original;
  const k = original.k >>> 0;
  if (code === LD_LEN) return [original, insn(ALU_ADD_K, TAG_LEN)];
  if (code === LDX_LEN) return keepingA(scratch, [insn(LD_LEN), insn(ALU_ADD_K, TAG_LEN), insn(TAX)]);
  if (code === LDX_MSH) return moveHeaderLength(original, k, scratch);
  if ((code & BPF_CLASS_MASK) !== BPF_LD) return [original];
  const mode = code & LD_MODE_MASK;
  if (mode === LD_IND) return moveIndexedRead(original, k);
  if (mode !== LD_ABS) return [original];
  if (k >= FIRST_NEGATIVE) return k >= SKF_AD_OFF ? [original] : null;
  return moveAbsoluteRead(original, k, loadSize(code), scratch);
}

function moveAbsoluteRead(original: BpfInstruction, k: number, size: number, scratch: number): BpfInstruction[] | null {
  if (k + size <= TAG_START) return [original];
  if (k >= TAG_END) return [{ ...original, k: k - TAG_LEN }];
  if (size === 2 && k === TAG_START) return [ancillary(SKF_AD_VLAN_TPID)];
  if (size === 2 && k === TAG_START + 2) return [ancillary(SKF_AD_VLAN_TAG)];
  if (size === 1) return tagByte(k);
  if (size === 4 && k === TAG_START && scratch >= 0) {
    // A = TPID << 16 | TCI, through X, which the program may still need.
    return [insn(BPF_STX, scratch), ancillary(SKF_AD_VLAN_TAG), insn(TAX), ancillary(SKF_AD_VLAN_TPID), insn(ALU_LSH_K, 16), insn(ALU_OR_X), insn(LDX_MEM, scratch)];
  }
  return null;
}

/**
 * ld [x + k]. With k of 16 or more the read lands past the tag whatever X is. Below that it
 * depends on X, so decide at run time: at 16 or more, 4 bytes earlier; below, unchanged, which
 * reads the untagged frame for the MAC addresses (the same bytes) and for bytes 12 to 15 (no
 * real filter reads the link header through X). k below 4 would need a negative offset.
 */
function moveIndexedRead(original: BpfInstruction, k: number): BpfInstruction[] | null {
  if (k >= TAG_END) return [{ ...original, k: k - TAG_LEN }];
  if (k < TAG_LEN) return null;
  return [insn(TXA), insn(ALU_ADD_K, k), insn(JGE_K, TAG_END, 2, 0), original, insn(JA, 1), { ...original, k: k - TAG_LEN }];
}

/** A = byte k (12 to 15) of the wire frame: TPID high, TPID low, TCI high, TCI low. */
function tagByte(k: number): BpfInstruction[] {
  const field = ancillary(k < TAG_START + 2 ? SKF_AD_VLAN_TPID : SKF_AD_VLAN_TAG);
  const isHighByte = (k - TAG_START) % 2 === 0;
  return [field, isHighByte ? insn(ALU_RSH_K, 8) : insn(ALU_AND_K, 0xff)];
}

/** ldx 4 * ([k] & 0xf), the IP header length idiom. */
function moveHeaderLength(original: BpfInstruction, k: number, scratch: number): BpfInstruction[] | null {
  if (k + 1 <= TAG_START) return [original];
  if (k >= TAG_END) return [{ ...original, k: k - TAG_LEN }];
  return keepingA(scratch, [...tagByte(k), insn(ALU_AND_K, 0x0f), insn(ALU_LSH_K, 2), insn(TAX)]);
}

/** Runs `body`, which sets X through A, and puts A back as it was. */
function keepingA(scratch: number, body: BpfInstruction[]): BpfInstruction[] | null {
  if (scratch < 0) return null;
  return [insn(BPF_ST, scratch), ...body, insn(LD_MEM, scratch)];
}
