// Reading capture files with Wireshark's own tools, as an independent check of what we write.
import { execFileSync, spawnSync } from 'node:child_process';

export function hasTool(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface TsharkPacket {
  /** frame.time_epoch as printed: "seconds.fraction". */
  time: string;
  length: number;
  caplen: number;
  md5: string;
}

/** What tshark reads from a file: one entry per packet. Throws if tshark complains. */
export function tsharkRead(path: string): TsharkPacket[] {
  const result = spawnSync(
    'tshark',
    ['-r', path, '-o', 'frame.generate_md5_hash:TRUE', '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len', '-e', 'frame.md5_hash'],
    { encoding: 'utf8' },
  );
  // tshark warns about running as root on stderr; anything else there is a real complaint.
  const complaints = result.stderr.split('\n').filter((line) => line.trim() !== '' && !line.includes('could be dangerous'));
  if (result.status !== 0 || complaints.length > 0) throw new Error(`tshark -r ${path}: ${complaints.join(' / ')} (exit ${result.status})`);
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [time, length, caplen, md5] = line.split('\t');
      return { time, length: Number(length), caplen: Number(caplen), md5 };
    });
}

/** capinfos' report of a file (interfaces, statistics blocks, packet count). */
export function capinfos(path: string): string {
  return execFileSync('capinfos', [path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}
