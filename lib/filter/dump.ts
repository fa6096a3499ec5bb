import { invalidOption } from '../errors';
import type { BpfInstruction } from './program';

// One instruction as `tcpdump -dd` prints it: `{ 0x28, 0, 0, 0x0000000c },`.
const NUMBER = '(0[xX][0-9a-fA-F]+|\\d+)';
const INSTRUCTION = new RegExp(`^\\{\\s*${NUMBER}\\s*,\\s*${NUMBER}\\s*,\\s*${NUMBER}\\s*,\\s*${NUMBER}\\s*\\},?$`);

/** True for text that is a program as `tcpdump -dd` prints it; no filter expression starts with `{`. */
export function isFilterDump(text: string): boolean {
  return text.trimStart().startsWith('{');
}

/** Parses the output of `tcpdump -dd EXPRESSION`: one `{ code, jt, jf, k },` per line. */
export function parseFilterDump(text: string): BpfInstruction[] {
  const program: BpfInstruction[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '') return;
    const match = INSTRUCTION.exec(line);
    if (!match) {
      throw invalidOption('filter', `line ${index + 1} (${JSON.stringify(line)}) is not "{ code, jt, jf, k }," as \`tcpdump -dd\` prints it`);
    }
    const [code, jt, jf, k] = match.slice(1).map(Number);
    program.push({ code, jt, jf, k });
  });
  return program;
}
