// The command line: the `autoencoder` program and its commands. Commander reports its own usage
// errors as one line, and they end with exit status 64.
import { Command } from 'commander';
import { registerApply } from './commands/apply';
import { registerBench } from './commands/bench';
import { registerDemo } from './commands/demo';
import { registerInfo } from './commands/info';
import { registerTrain } from './commands/train';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../../package.json') as { version: string };

const EXIT_STATUS_HELP = `
Exit status:
  0    success
  64   usage error (a bad option or setting)
  65   bad data (a malformed data, config or model file)
  66   an input file cannot be read
  69   a package the command needs is missing
  70   internal error
  73   an output file or folder cannot be written
  130  interrupted (Ctrl-C)`;

export function createProgram(): Command {
  const program = new Command('autoencoder')
    .description('Train autoencoders and apply them to data files, at native speed (native-autoencoder).')
    .version(version)
    .exitOverride()
    .allowExcessArguments(false)
    .configureOutput({
      outputError: (text, write) => write(`autoencoder: ${text.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim()}\n`),
    })
    .addHelpText('after', EXIT_STATUS_HELP);
  registerDemo(program);
  registerTrain(program);
  registerApply(program);
  registerInfo(program);
  registerBench(program);
  return program;
}
