// A FreeBSD /dev/bpf descriptor set up for capture, in zero-copy (BPF_BUFMODE_ZBUF) or buffered
// (BPF_BUFMODE_BUFFER) mode. Syscalls and memory only: the buffer protocol (which buffer is
// next, walking records, acknowledging) lives in lib/protocol, in TypeScript.
// The same code runs on FreeBSD and, under scripts/with-bpf-model, on Linux.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "../abi/freebsd_bpf.h"
#include "../core/shared_region.h"
#include "../core/status.h"

namespace zbpf {

enum class BpfMode { kAuto, kZerocopy, kBuffered };

struct BpfOptions {
  std::string device = "/dev/bpf";
  std::string interface;
  BpfMode mode = BpfMode::kAuto;
  std::size_t buffer_size = 0;  // bytes per buffer; 0 picks the largest the kernel allows, up to 2 MiB
  bool immediate = false;
  unsigned direction = freebsd::kDirectionInOut;
  bool promiscuous = false;
  std::vector<freebsd::Insn> filter;  // installed with BIOCSETFNR; empty accepts whole packets
};

class BpfDevice {
 public:
  static Status Open(const BpfOptions& options, std::unique_ptr<BpfDevice>* out);

  BpfDevice(const BpfDevice&) = delete;
  BpfDevice& operator=(const BpfDevice&) = delete;
  ~BpfDevice();

  bool zerocopy() const { return zerocopy_; }
  // Mode 'auto' that ended up buffered: why zero-copy was not used; empty otherwise.
  const std::string& fallback_reason() const { return fallback_reason_; }
  int fd() const { return fd_; }
  unsigned link_type() const { return link_type_; }
  // Zero-copy: length of each of the two buffers, 32-byte header included.
  // Buffered: the kernel's buffer size, which every read(2) must ask for.
  std::size_t buffer_length() const { return buffers_[0].length(); }
  // Zero-copy: buffer 0 is A (filled first) and 1 is B. Buffered: 0 is our read buffer.
  unsigned char* buffer(int index) const { return buffers_[index].data(); }

  // BIOCROTZBUF: *handed_over is the buffer the kernel handed over, or -1 if it had nothing to give.
  Status Rotate(int* handed_over);
  // FIONREAD: bd_slen, plus bd_hlen while a hold buffer exists, read under the descriptor lock.
  Status Pending(int* bytes);
  // read(2) into `into` (buffer_length() bytes; buffer 0 when null); *length is 0 when nothing is ready.
  Status Read(unsigned char* into, std::size_t* length);
  Status Stats(freebsd::Stat* stats);
  // BIOCGETIF: false once the interface has gone away (docs/freebsd-kernel.md §8.10).
  Status Attached(bool* attached);
  Status SetFilter(const std::vector<freebsd::Insn>& program);
  // Closes the descriptor; the buffers stay mapped, so what was handed over stays readable.
  Status CloseDescriptor();
  bool descriptor_open() const { return fd_ >= 0; }
  // Closes the descriptor, then unmaps the buffers (§8.12: never the other way round).
  Status Close();

 private:
  BpfDevice() = default;

  static Status OpenInMode(const BpfOptions& options, BpfMode mode, std::unique_ptr<BpfDevice>* out);
  static std::string Describe(const Status& status);
  Status OpenDevice(const std::string& path);
  Status CheckVersion();
  Status SelectMode(BpfMode mode);
  Status SetUpZerocopyBuffers(std::size_t requested);
  Status SetUpReadBuffer(std::size_t requested);
  Status ApplyOptions(const BpfOptions& options);
  Status Attach(const std::string& interface, bool promiscuous);

  int fd_ = -1;
  bool zerocopy_ = false;
  std::string fallback_reason_;
  unsigned link_type_ = 0;
  SharedRegion buffers_[2];
};

}  // namespace zbpf
