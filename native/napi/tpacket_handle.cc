#include "tpacket_handle.h"

#include <linux/if_packet.h>

#include <cstddef>
#include <cstring>

#include "js_error.h"
#include "options.h"

namespace zbpf {

namespace {

// The layouts lib/protocol/tpacket3-records.ts and lib/providers/tpacket.ts read, checked
// here against the kernel's headers and reported to JS (TpacketHandle.layout) for a test.
constexpr std::size_t kBlockHeaderOffset = offsetof(tpacket_block_desc, hdr);
static_assert(kBlockHeaderOffset == 8, "tpacket_block_desc.hdr moved");
static_assert(sizeof(tpacket_hdr_v1) == 40, "tpacket_hdr_v1 changed size");
static_assert(offsetof(tpacket_hdr_v1, block_status) == 0, "block_status moved");
static_assert(offsetof(tpacket_hdr_v1, num_pkts) == 4, "num_pkts moved");
static_assert(offsetof(tpacket_hdr_v1, offset_to_first_pkt) == 8, "offset_to_first_pkt moved");
static_assert(offsetof(tpacket_hdr_v1, blk_len) == 12, "blk_len moved");
static_assert(offsetof(tpacket_hdr_v1, seq_num) == 16, "seq_num moved");
static_assert(sizeof(tpacket3_hdr) == 48, "tpacket3_hdr changed size");
static_assert(sizeof(freebsd::Insn) == sizeof(sock_filter), "packed filters are struct sock_filter");
static_assert(offsetof(sock_filter, k) == offsetof(freebsd::Insn, k), "packed filters are struct sock_filter");

TpacketDirection ParseDirection(const std::string& direction) {
  if (direction == "in") return TpacketDirection::kIn;
  if (direction == "out") return TpacketDirection::kOut;
  return TpacketDirection::kInOut;
}

// lib/ packs filters as 8-byte struct bpf_insn, which has struct sock_filter's layout.
std::vector<sock_filter> SockFilter(const std::vector<freebsd::Insn>& program) {
  std::vector<sock_filter> result(program.size());
  std::memcpy(result.data(), program.data(), program.size() * sizeof(sock_filter));
  return result;
}

Napi::Object Layout(Napi::Env env) {
  Napi::Object layout = Napi::Object::New(env);
  auto set = [&](const char* key, std::size_t value) { layout.Set(key, Napi::Number::New(env, static_cast<double>(value))); };
  set("blockDescSize", sizeof(tpacket_block_desc));
  set("blockHeaderOffset", kBlockHeaderOffset);
  set("blockHeaderSize", sizeof(tpacket_hdr_v1));
  set("numPkts", kBlockHeaderOffset + offsetof(tpacket_hdr_v1, num_pkts));
  set("offsetToFirstPkt", kBlockHeaderOffset + offsetof(tpacket_hdr_v1, offset_to_first_pkt));
  set("blkLen", kBlockHeaderOffset + offsetof(tpacket_hdr_v1, blk_len));
  set("seqNum", kBlockHeaderOffset + offsetof(tpacket_hdr_v1, seq_num));
  set("hdrSize", sizeof(tpacket3_hdr));
  set("hdrLen", TPACKET3_HDRLEN);
  set("nextOffset", offsetof(tpacket3_hdr, tp_next_offset));
  set("sec", offsetof(tpacket3_hdr, tp_sec));
  set("nsec", offsetof(tpacket3_hdr, tp_nsec));
  set("snaplen", offsetof(tpacket3_hdr, tp_snaplen));
  set("len", offsetof(tpacket3_hdr, tp_len));
  set("status", offsetof(tpacket3_hdr, tp_status));
  set("mac", offsetof(tpacket3_hdr, tp_mac));
  set("vlanTci", offsetof(tpacket3_hdr, hv1) + offsetof(tpacket_hdr_variant1, tp_vlan_tci));
  set("vlanTpid", offsetof(tpacket3_hdr, hv1) + offsetof(tpacket_hdr_variant1, tp_vlan_tpid));
  set("pktType", TPACKET_ALIGN(sizeof(tpacket3_hdr)) + offsetof(sockaddr_ll, sll_pkttype));
  return layout;
}

}  // namespace

Napi::Function TpacketHandle::Define(Napi::Env env) {
  return DefineClass(env, "TpacketHandle",
                     {
                         StaticValue("layout", Layout(env)),
                         InstanceAccessor<&TpacketHandle::BlockSize>("blockSize"),
                         InstanceAccessor<&TpacketHandle::BlockCount>("blockCount"),
                         InstanceAccessor<&TpacketHandle::LinkType>("linkType"),
                         InstanceMethod<&TpacketHandle::Headers>("headers"),
                         InstanceMethod<&TpacketHandle::Lend>("lend"),
                         InstanceMethod<&TpacketHandle::Revoke>("revoke"),
                         InstanceMethod<&TpacketHandle::Stats>("stats"),
                         InstanceMethod<&TpacketHandle::Attached>("attached"),
                         InstanceMethod<&TpacketHandle::SetFilter>("setFilter"),
                         InstanceMethod<&TpacketHandle::Watch>("watch"),
                         InstanceMethod<&TpacketHandle::Shutdown>("shutdown"),
                         InstanceMethod<&TpacketHandle::Quiesce>("quiesce"),
                         InstanceMethod<&TpacketHandle::Close>("close"),
                     });
}

// new TpacketHandle(options, onReadable): options as normalised by lib/providers/tpacket.ts.
TpacketHandle::TpacketHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TpacketHandle>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "TpacketHandle(options, onReadable)").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object js = info[0].As<Napi::Object>();
  TpacketOptions options;
  options.interface = options::String(js, "interface");
  options.buffer_size = static_cast<std::size_t>(options::Number(js, "bufferSize"));
  options.snaplen = static_cast<std::size_t>(options::Number(js, "snaplen", static_cast<double>(options.snaplen)));
  options.timeout_ms = static_cast<unsigned>(options::Number(js, "timeoutMs", options.timeout_ms));
  options.direction = ParseDirection(options::String(js, "direction", "inout"));
  options.promiscuous = options::Bool(js, "promiscuous");
  options.filter = SockFilter(options::Program(js.Get("filter")));

  if (!ThrowIfFailed(env, TpacketRing::Open(options, &ring_))) return;
  // libuv reports a socket error (POLLERR) as EBADF; the socket knows what really happened.
  auto diagnose = [this](int status) {
    Status error = ring_ ? ring_->PendingError() : Status::Ok();
    return error.ok() ? Status::Fail(-status, "uv_poll", "waiting for the packet socket failed") : error;
  };
  if (!readiness_.Bind(env, ring_->fd(), info[1].As<Napi::Function>(), "zbpf:tpacket", diagnose)) {
    ring_.reset();
    return;
  }
  headers_ = std::vector<LentView>(ring_->block_count());
  blocks_ = std::vector<LentView>(ring_->block_count());
  capturing_ = true;
  Addon::Of(env).Track(this);
}

TpacketHandle::~TpacketHandle() { Release(); }

// Views first (docs/architecture.md rule 2), then the ring is unmapped and the socket closed.
void TpacketHandle::Release() {
  if (!ring_) return;
  Addon::Of(Env()).Untrack(this);
  readiness_.Close();  // before the socket can go away
  capturing_ = false;
  for (LentView& view : blocks_) view.Revoke();
  for (LentView& view : headers_) view.Revoke();
  ring_.reset();
}

bool TpacketHandle::CheckOpen(Napi::Env env) {
  if (ring_) return true;
  ThrowClosed(env);
  return false;
}

bool TpacketHandle::CheckCapturing(Napi::Env env) {
  if (ring_ && capturing_) return true;
  ThrowClosed(env);
  return false;
}

int TpacketHandle::CheckedBlockIndex(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return -1;
  double index = -1;
  if (!options::WholeNumber(info[0], ring_->block_count() - 1.0, &index)) {
    Napi::RangeError::New(info.Env(), "no such block").ThrowAsJavaScriptException();
    return -1;
  }
  return static_cast<int>(index);
}

Napi::Value TpacketHandle::BlockSize(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return {};
  return Napi::Number::New(info.Env(), static_cast<double>(ring_->block_size()));
}

Napi::Value TpacketHandle::BlockCount(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return {};
  return Napi::Number::New(info.Env(), ring_->block_count());
}

Napi::Value TpacketHandle::LinkType(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return {};
  return Napi::Number::New(info.Env(), ring_->link_type());
}

// Each block's struct tpacket_hdr_v1, lent for as long as the ring is mapped: the provider
// reads block_status with an acquire and gives blocks back with a release store through them.
// They start 8 bytes into the block, so no two lent ArrayBuffers share a start address.
Napi::Value TpacketHandle::Headers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return {};
  Napi::Array result = Napi::Array::New(env, ring_->block_count());
  for (unsigned i = 0; i < ring_->block_count(); ++i) {
    result.Set(i, headers_[i].Lend(env, ring_->block(i) + kBlockHeaderOffset, sizeof(tpacket_hdr_v1)));
  }
  return result;
}

// lend(index): the whole block (tpacket_block_desc first), until revoke(index).
Napi::Value TpacketHandle::Lend(const Napi::CallbackInfo& info) {
  const int index = CheckedBlockIndex(info);
  if (index < 0) return {};
  return blocks_[index].Lend(info.Env(), ring_->block(index), ring_->block_size());
}

void TpacketHandle::Revoke(const Napi::CallbackInfo& info) {
  const int index = CheckedBlockIndex(info);
  if (index >= 0) blocks_[index].Revoke();
}

// [packets, drops, freezes] since open; exact as doubles up to 2^53.
Napi::Value TpacketHandle::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckOpen(env)) return {};
  TpacketCounters totals;
  if (!ThrowIfFailed(env, ring_->Stats(&totals))) return {};
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, Napi::Number::New(env, static_cast<double>(totals.packets)));
  result.Set(1u, Napi::Number::New(env, static_cast<double>(totals.drops)));
  result.Set(2u, Napi::Number::New(env, static_cast<double>(totals.freezes)));
  return result;
}

Napi::Value TpacketHandle::Attached(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return {};
  return Napi::Boolean::New(info.Env(), ring_->Attached());
}

// Refused after shutdown(): the filter that keeps the socket inert must stay.
void TpacketHandle::SetFilter(const Napi::CallbackInfo& info) {
  if (!CheckCapturing(info.Env())) return;
  ThrowIfFailed(info.Env(), ring_->SetFilter(SockFilter(options::Program(info[0]))));
}

void TpacketHandle::Watch(const Napi::CallbackInfo& info) {
  if (!CheckCapturing(info.Env())) return;
  // A plain read, not ToBoolean(): coercion needs an env that may still run JS, and in a worker
  // being terminated it fails and node-addon-api's error path aborts the process.
  ThrowIfFailed(info.Env(), readiness_.Watch(info[0].As<Napi::Boolean>().Value()));
}

// Stops capturing; the socket and the ring stay until close(), so blocks already handed over,
// and the block the kernel was filling, can still be read.
void TpacketHandle::Shutdown(const Napi::CallbackInfo& info) {
  if (!ring_ || !capturing_) return;
  capturing_ = false;
  readiness_.Close();
  ThrowIfFailed(info.Env(), ring_->Stop());
}

void TpacketHandle::Quiesce(const Napi::CallbackInfo& info) {
  if (!CheckOpen(info.Env())) return;
  if (capturing_) {
    Napi::Error::New(info.Env(), "quiesce() before shutdown()").ThrowAsJavaScriptException();
    return;
  }
  ThrowIfFailed(info.Env(), ring_->Quiesce());
}

void TpacketHandle::Close(const Napi::CallbackInfo& /*info*/) { Release(); }

}  // namespace zbpf
