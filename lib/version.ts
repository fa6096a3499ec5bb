import { readFileSync } from 'node:fs';
import path from 'node:path';

/** zbpf's version, from package.json (two levels up from both lib/x/ and dist/x/). */
export function zbpfVersion(): string {
  const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
