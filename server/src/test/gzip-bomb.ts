import { once } from 'node:events';
import { createGzip } from 'node:zlib';

/** About a quarter of a megabyte of gzip that inflates to 256 MB of zeros (for tests and benchmarks of the body caps). */
export async function gzipBomb(): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = once(gzip, 'end');
  const zeros = Buffer.alloc(16 * 1024 * 1024);
  for (let i = 0; i < 16; i += 1) gzip.write(zeros);
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}
