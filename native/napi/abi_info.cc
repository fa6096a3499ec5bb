#include "abi_info.h"

#include <cstddef>

#include "../abi/freebsd_bpf.h"

#if defined(__FreeBSD__)
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <net/if.h>
#include <net/bpf.h>
#endif

namespace zbpf {

namespace {

#if defined(__FreeBSD__)
constexpr const char* kSource = "<net/bpf.h>";
using ZbufHeaderT = struct bpf_zbuf_header;
using ExtendedHeaderT = struct bpf_xhdr;
using TimestampT = struct bpf_ts;
using InsnT = struct bpf_insn;
#define ZBPF_ZBUF_FIELD(name) offsetof(ZbufHeaderT, bzh_##name)
#define ZBPF_XHDR_FIELD(name) offsetof(ExtendedHeaderT, bh_##name)
#define ZBPF_TS_FIELD(name) offsetof(TimestampT, bt_##name)
#define ZBPF_HDRLEN_SIZE sizeof(static_cast<ExtendedHeaderT*>(nullptr)->bh_hdrlen)
constexpr std::size_t kAlignment = BPF_ALIGNMENT;
constexpr std::size_t kMaxInsns = BPF_MAXINSNS;
constexpr std::size_t kIfNameSize = IFNAMSIZ;
constexpr unsigned kMajor = BPF_MAJOR_VERSION;
constexpr unsigned kMinor = BPF_MINOR_VERSION;
#else
constexpr const char* kSource = "native/abi/freebsd_bpf.h";
using ZbufHeaderT = freebsd::ZbufHeader;
using ExtendedHeaderT = freebsd::ExtendedHeader;
using TimestampT = freebsd::Timestamp;
using InsnT = freebsd::Insn;
#define ZBPF_ZBUF_FIELD(name) offsetof(ZbufHeaderT, name)
#define ZBPF_XHDR_FIELD(name) offsetof(ExtendedHeaderT, name)
#define ZBPF_TS_FIELD(name) offsetof(TimestampT, name)
#define ZBPF_HDRLEN_SIZE sizeof(static_cast<ExtendedHeaderT*>(nullptr)->hdrlen)
constexpr std::size_t kAlignment = freebsd::kAlignment;
constexpr std::size_t kMaxInsns = freebsd::kMaxInsns;
constexpr std::size_t kIfNameSize = freebsd::kIfNameSize;
constexpr unsigned kMajor = freebsd::kVersionMajor;
constexpr unsigned kMinor = freebsd::kVersionMinor;
#endif

void Set(Napi::Object& object, const char* key, std::size_t value) {
  object.Set(key, Napi::Number::New(object.Env(), static_cast<double>(value)));
}

}  // namespace

Napi::Object AbiInfo(Napi::Env env) {
  Napi::Object abi = Napi::Object::New(env);
  abi.Set("source", Napi::String::New(env, kSource));
  // struct bpf_zbuf_header at the start of each zero-copy buffer (docs/freebsd-kernel.md §1).
  Set(abi, "zbufHeaderSize", sizeof(ZbufHeaderT));
  Set(abi, "zbufKernelGen", ZBPF_ZBUF_FIELD(kernel_gen));
  Set(abi, "zbufKernelLen", ZBPF_ZBUF_FIELD(kernel_len));
  Set(abi, "zbufUserGen", ZBPF_ZBUF_FIELD(user_gen));
  // struct bpf_xhdr before each record (§5), with its struct bpf_ts.
  Set(abi, "xhdrSize", sizeof(ExtendedHeaderT));
  Set(abi, "xhdrSeconds", ZBPF_XHDR_FIELD(tstamp) + ZBPF_TS_FIELD(sec));
  Set(abi, "xhdrFraction", ZBPF_XHDR_FIELD(tstamp) + ZBPF_TS_FIELD(frac));
  Set(abi, "xhdrCaplen", ZBPF_XHDR_FIELD(caplen));
  Set(abi, "xhdrDatalen", ZBPF_XHDR_FIELD(datalen));
  Set(abi, "xhdrHdrlen", ZBPF_XHDR_FIELD(hdrlen));
  Set(abi, "xhdrHdrlenSize", ZBPF_HDRLEN_SIZE);
  Set(abi, "alignment", kAlignment);
  // struct bpf_insn and the program length limit (filters packed by lib/filter/program.ts).
  Set(abi, "insnSize", sizeof(InsnT));
  Set(abi, "maxInsns", kMaxInsns);
  Set(abi, "ifNameSize", kIfNameSize);
  Set(abi, "versionMajor", kMajor);
  Set(abi, "versionMinor", kMinor);
  return abi;
}

#undef ZBPF_ZBUF_FIELD
#undef ZBPF_XHDR_FIELD
#undef ZBPF_TS_FIELD
#undef ZBPF_HDRLEN_SIZE

}  // namespace zbpf
