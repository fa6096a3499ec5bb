// A classic-BPF interpreter and validator with FreeBSD's semantics (bpf_filter.c, docs/freebsd-kernel.md §3):
// out-of-range loads reject the packet (return 0), division by a zero X rejects it,
// the program ends at a RET, every jump goes forward inside the program.
#include "filter.h"

namespace zbpf::model {
namespace {

// Instruction classes, fields and opcodes from bpf.h.
enum : std::uint16_t {
  kLd = 0x00, kLdx = 0x01, kSt = 0x02, kStx = 0x03, kAlu = 0x04, kJmp = 0x05, kRet = 0x06, kMisc = 0x07,
  kW = 0x00, kH = 0x08, kB = 0x10,
  kImm = 0x00, kAbs = 0x20, kInd = 0x40, kMem = 0x60, kLen = 0x80, kMsh = 0xa0,
  kAdd = 0x00, kSub = 0x10, kMul = 0x20, kDiv = 0x30, kOr = 0x40, kAnd = 0x50, kLsh = 0x60,
  kRsh = 0x70, kNeg = 0x80, kMod = 0x90, kXor = 0xa0,
  kJa = 0x00, kJeq = 0x10, kJgt = 0x20, kJge = 0x30, kJset = 0x40,
  kK = 0x00, kX = 0x08, kA = 0x10,
  kTax = 0x00, kTxa = 0x80,
};

constexpr std::uint16_t Class(std::uint16_t code) { return code & 0x07; }

// The opcodes bpf_filter() implements; bpf_validate() accepts exactly these (its
// bpf_code_map has one bit per implemented opcode).
bool IsKnownOpcode(std::uint16_t code) {
  switch (code) {
    case kRet | kK: case kRet | kA:
    case kLd | kW | kAbs: case kLd | kH | kAbs: case kLd | kB | kAbs:
    case kLd | kW | kLen: case kLdx | kW | kLen:
    case kLd | kW | kInd: case kLd | kH | kInd: case kLd | kB | kInd:
    case kLdx | kMsh | kB:
    case kLd | kImm: case kLdx | kImm: case kLd | kMem: case kLdx | kMem:
    case kSt: case kStx:
    case kJmp | kJa:
    case kJmp | kJgt | kK: case kJmp | kJge | kK: case kJmp | kJeq | kK: case kJmp | kJset | kK:
    case kJmp | kJgt | kX: case kJmp | kJge | kX: case kJmp | kJeq | kX: case kJmp | kJset | kX:
    case kAlu | kAdd | kX: case kAlu | kSub | kX: case kAlu | kMul | kX: case kAlu | kDiv | kX:
    case kAlu | kMod | kX: case kAlu | kAnd | kX: case kAlu | kOr | kX: case kAlu | kXor | kX:
    case kAlu | kLsh | kX: case kAlu | kRsh | kX:
    case kAlu | kAdd | kK: case kAlu | kSub | kK: case kAlu | kMul | kK: case kAlu | kDiv | kK:
    case kAlu | kMod | kK: case kAlu | kAnd | kK: case kAlu | kOr | kK: case kAlu | kXor | kK:
    case kAlu | kLsh | kK: case kAlu | kRsh | kK:
    case kAlu | kNeg:
    case kMisc | kTax: case kMisc | kTxa:
      return true;
    default:
      return false;
  }
}

// Bounds-checked big-endian loads; false when [k, k+size) is not inside the packet.
bool Load(const std::uint8_t* p, std::uint32_t buflen, std::uint32_t k, std::uint32_t size,
          std::uint32_t* out) {
  if (k > buflen || size > buflen - k) return false;
  std::uint32_t v = 0;
  for (std::uint32_t i = 0; i < size; ++i) v = (v << 8) | p[k + i];
  *out = v;
  return true;
}

// Indexed load: X + k must not overflow and must be in range (bpf_filter's checks).
bool LoadIndexed(const std::uint8_t* p, std::uint32_t buflen, std::uint32_t x, std::uint32_t k,
                 std::uint32_t size, std::uint32_t* out) {
  if (k > buflen || x > buflen - k) return false;
  return Load(p, buflen, x + k, size, out);
}

std::uint32_t SizeOf(std::uint16_t code) {
  switch (code & 0x18) {
    case kW: return 4;
    case kH: return 2;
    default: return 1;
  }
}

// ALU with the operand already chosen; false when the packet must be rejected (A / 0).
bool Alu(std::uint16_t op, std::uint32_t operand, std::uint32_t* a) {
  switch (op) {
    case kAdd: *a += operand; return true;
    case kSub: *a -= operand; return true;
    case kMul: *a *= operand; return true;
    case kDiv: if (operand == 0) return false; *a /= operand; return true;
    case kMod: if (operand == 0) return false; *a %= operand; return true;
    case kAnd: *a &= operand; return true;
    case kOr: *a |= operand; return true;
    case kXor: *a ^= operand; return true;
    // C leaves shifts by >= 32 undefined; amd64 and arm64 hardware use the count mod 32.
    case kLsh: *a <<= (operand & 31); return true;
    case kRsh: *a >>= (operand & 31); return true;
    case kNeg: *a = 0u - *a; return true;
    default: return false;
  }
}

bool JumpTaken(std::uint16_t op, std::uint32_t a, std::uint32_t operand) {
  switch (op) {
    case kJeq: return a == operand;
    case kJgt: return a > operand;
    case kJge: return a >= operand;
    case kJset: return (a & operand) != 0;
    default: return false;
  }
}

}  // namespace

// §3: a program that fails bpf_validate: EINVAL (bpf_filter.c: bpf_validate()).
bool ValidateFilter(const std::vector<bsd::Insn>& program) {
  const std::size_t len = program.size();
  if (len == 0) return true;  // an empty filter means accept all
  for (std::size_t i = 0; i < len; ++i) {
    const bsd::Insn& insn = program[i];
    if (!IsKnownOpcode(insn.code)) return false;
    if (Class(insn.code) == kJmp) {
      // Jumps go forward and land inside the program (never on or past its end).
      std::uint32_t offset = insn.code == (kJmp | kJa) ? insn.k : (insn.jt > insn.jf ? insn.jt : insn.jf);
      if (offset >= static_cast<std::uint32_t>(len - i) - 1) return false;
      continue;
    }
    if (insn.code == kSt || insn.code == kStx || insn.code == (kLd | kMem) || insn.code == (kLdx | kMem)) {
      if (insn.k >= kMemWords) return false;
      continue;
    }
    if ((insn.code == (kAlu | kDiv | kK) || insn.code == (kAlu | kMod | kK)) && insn.k == 0) return false;
  }
  return Class(program[len - 1].code) == kRet;
}

// §3 the snap length is the value of the filter's RET instruction (bpf_filter.c: bpf_filter()).
std::uint32_t RunFilter(const std::vector<bsd::Insn>& program, const std::uint8_t* p,
                        std::uint32_t wirelen, std::uint32_t buflen) {
  if (program.empty()) return UINT32_MAX;  // no filter: accept whole packets
  std::uint32_t a = 0, x = 0;
  std::uint32_t mem[kMemWords] = {};
  // Validation guarantees forward jumps inside the program, so the loop terminates; the
  // bound check below only protects the host process from a model bug.
  for (std::size_t pc = 0; pc < program.size(); ++pc) {
    const bsd::Insn& insn = program[pc];
    const std::uint16_t code = insn.code;
    switch (Class(code)) {
      case kRet:
        return (code & 0x18) == kA ? a : insn.k;
      case kLd:
        switch (code & 0xe0) {
          case kImm: a = insn.k; break;
          case kLen: a = wirelen; break;
          case kMem: a = mem[insn.k]; break;
          case kAbs: if (!Load(p, buflen, insn.k, SizeOf(code), &a)) return 0; break;
          case kInd: if (!LoadIndexed(p, buflen, x, insn.k, SizeOf(code), &a)) return 0; break;
          default: return 0;
        }
        break;
      case kLdx:
        switch (code & 0xe0) {
          case kImm: x = insn.k; break;
          case kLen: x = wirelen; break;
          case kMem: x = mem[insn.k]; break;
          case kMsh: {
            std::uint32_t byte;
            if (!Load(p, buflen, insn.k, 1, &byte)) return 0;
            x = (byte & 0xf) << 2;
            break;
          }
          default: return 0;
        }
        break;
      case kSt: mem[insn.k] = a; break;
      case kStx: mem[insn.k] = x; break;
      case kAlu:
        if (!Alu(code & 0xf0, (code & kX) ? x : insn.k, &a)) return 0;
        break;
      case kJmp:
        if ((code & 0xf0) == kJa) {
          pc += insn.k;
        } else {
          pc += JumpTaken(code & 0xf0, a, (code & kX) ? x : insn.k) ? insn.jt : insn.jf;
        }
        break;
      case kMisc:
        if ((code & 0xf8) == kTxa) a = x; else x = a;
        break;
      default:
        return 0;
    }
  }
  return 0;
}

}  // namespace zbpf::model
