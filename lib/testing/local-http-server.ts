// biome-ignore lint/style/noRestrictedImports: test helper run by Vitest in Node, serving real HTTP to the fetcher tests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface LocalHttpServer {
  origin: string;
  /** Paths requested, in order. */
  hits: string[];
  close(): Promise<void>;
}

/** For tests only: a real HTTP server on a free 127.0.0.1 port. */
export async function startLocalHttpServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<LocalHttpServer> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(request.url ?? '');
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('the test server has no port');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
