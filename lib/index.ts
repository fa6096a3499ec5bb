export { openCapture, Capture, type CaptureStats } from './capture';
export type { CaptureOptions, ProviderName } from './options';
export { Batch, type Packet } from './batch';
export { PacketCursor } from './protocol/cursor';
export { ZbpfError } from './errors';
export type { BpfInstruction } from './filter/program';
export type { Direction } from './providers/provider';
