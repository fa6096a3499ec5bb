#!/usr/bin/env node
// zbpf: a tcpdump-like command over zbpf's zero-copy captures. Exit status: 0 done, 1 runtime
// error, 2 usage error (see USAGE).
import { zbpfVersion } from '../version';
import { parseArgs, USAGE } from './args';
import { formatInterfaces, listInterfaces, zerocopyAvailability } from './interfaces';
import { describeError, EXIT_OK, exitCodeFor } from './report';
import { run, summary } from './run';
import { openFileSource, openLiveSource } from './sources';

async function main(argv: string[]): Promise<number> {
  const options = parseArgs(argv);
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT_OK;
  }
  if (options.version) {
    process.stdout.write(`zbpf ${zbpfVersion()}\n`);
    return EXIT_OK;
  }
  if (options.listInterfaces) {
    process.stdout.write(formatInterfaces(listInterfaces(), zerocopyAvailability(options.provider)));
    return EXIT_OK;
  }
  const source = options.read ? await openFileSource(options) : openLiveSource(options);
  const result = await run(source, options);
  if (source.live) process.stderr.write(summary(result));
  return EXIT_OK;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${describeError(error)}\n`);
    if (process.env.ZBPF_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exitCode = exitCodeFor(error);
  },
);
