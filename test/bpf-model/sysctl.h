// The net.bpf.* sysctls the model honours, read from the environment variable
// BPF_MODEL_SYSCTLS ("name=value" pairs separated by spaces or commas) at the moment the
// kernel would consult each one, so a test can change them between captures.
#pragma once

namespace zbpf::model::sysctl {

// docs/freebsd-kernel.md §3 BIOCSETBUFMODE: "net.bpf.zerocopy_enable", default 0, checked at BIOCSETBUFMODE only.
bool ZerocopyEnable();
// §3 BIOCSETIF / §8.15: "net.bpf.optimize_writers", default 0, checked at attach.
bool OptimizeWriters();
// §3 filter rules: "net.bpf.maxinsns", default BPF_MAXINSNS (512), checked at BIOCSETF*.
long MaxInsns();
// §3 defaults after open (bpf_buffer.c): "net.bpf.bufsize", default 4096, read at open.
long BufSize();
// §3 GETZMAX / bpf_buffer.c: "net.bpf.maxbufsize", default 0x80000, checked at BIOCSBLEN.
long MaxBufSize();

}  // namespace zbpf::model::sysctl
