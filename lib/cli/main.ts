#!/usr/bin/env node
// Entry point of the `autoencoder` command: runs the program and turns any failure into one line
// on stderr and a sysexits-style exit status.
import { CommanderError } from 'commander';
import { EXIT, describeFailure, outputError } from './errors';
import { removeEmptyOutputFolders } from './files';

// A reader that stops early (`autoencoder encode … | head`) is not a failure of the command; a
// standard output that cannot be written (a full disk, /dev/full) is, and ends the command at once.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // Either way the run ends here, and leaves no folder it made and wrote nothing into.
  removeEmptyOutputFolders();
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  const { message, exitCode } = describeFailure(outputError('standard output', error));
  process.stderr.write(`autoencoder: ${message}\n`);
  process.exit(exitCode);
});

async function main(argv: string[]): Promise<void> {
  // Loaded here rather than imported above, so that an addon that fails to load is reported like any other error.
  const { createProgram } = await import('./program');
  await createProgram().parseAsync(argv);
}

main(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  const { message, exitCode } = describeFailure(error);
  process.stderr.write(`autoencoder: ${message}\n`);
  // A run that fails leaves no trace: not even a folder made for outputs it never wrote.
  removeEmptyOutputFolders();
  process.exitCode = exitCode;
});
