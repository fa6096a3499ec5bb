import type { NormalizedOptions } from '../options';
import { BpfProvider } from './bpf';
import type { Provider, ReadinessCallback } from './provider';
import { TpacketProvider } from './tpacket';

/** The one place that knows which provider serves which options. */
export function createProvider(options: NormalizedOptions, onReadable: ReadinessCallback): Provider {
  if (options.provider === 'tpacket') return new TpacketProvider(options, onReadable);
  return new BpfProvider(options, onReadable);
}
