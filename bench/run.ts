import { benchRequestSigning } from './request-signing';

/** `npm run bench`: every benchmark, each measured side by side with its anchor. */
const benchmarks: Array<[string, () => Promise<string>]> = [['request-signing', benchRequestSigning]];

const only = process.argv[2];
for (const [name, run] of benchmarks) {
  if (only && only !== name) continue;
  process.stdout.write(`${await run()}\n\n`);
}
