import { ZbpfError } from '../errors';
import type { NormalizedOptions } from '../options';
import { BpfProvider } from './bpf';
import type { Provider, ReadinessCallback } from './provider';

/** The one place that knows which provider serves which options. */
export function createProvider(options: NormalizedOptions, onReadable: ReadinessCallback): Provider {
  if (options.provider === 'bpf') return new BpfProvider(options, onReadable);
  throw new ZbpfError('the tpacket provider is not available in this build', {
    code: 'ERR_ZBPF_NO_PROVIDER',
    hint: "use provider: 'bpf'",
  });
}
