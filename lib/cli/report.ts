// What the user reads when something goes wrong: one line that says what and how to fix it.
import { ZbpfError } from '../errors';
import { UsageError } from './args';

export const EXIT_OK = 0;
export const EXIT_RUNTIME_ERROR = 1;
export const EXIT_USAGE_ERROR = 2;

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

export function describeError(error: unknown): string {
  if (error instanceof UsageError) return `zbpf: ${error.message} (zbpf --help shows the usage)`;
  if (error instanceof ZbpfError) {
    const hint = error.hint && !error.message.includes(error.hint) ? ` (${error.hint})` : '';
    return oneLine(`zbpf: ${error.message}${hint}`);
  }
  if (error instanceof Error) return oneLine(`zbpf: ${error.message}`);
  return `zbpf: ${String(error)}`;
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT_USAGE_ERROR;
  if (error instanceof ZbpfError && error.code === 'ERR_ZBPF_INVALID_OPTION') return EXIT_USAGE_ERROR;
  return EXIT_RUNTIME_ERROR;
}
