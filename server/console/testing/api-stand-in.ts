import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stand-in received, body parsed. */
export interface ReceivedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: unknown;
}

export type StandInHandler = (
  request: ReceivedRequest,
) => { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>;

export interface ApiStandIn {
  url: string;
  received: ReceivedRequest[];
  close: () => Promise<void>;
}

/**
 * A real HTTP server on a free port that answers the console's requests with the bodies a test gives,
 * in the API's wire formats. The real API is exercised by the end-to-end test; this one lets a unit test
 * make the server say exactly the refusal or failure whose display it checks. It allows any origin, as
 * the page under test runs on another one.
 */
export async function startApiStandIn(handle: StandInHandler): Promise<ApiStandIn> {
  const received: ReceivedRequest[] = [];
  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    response.setHeader('access-control-allow-origin', '*');
    response.setHeader('access-control-allow-headers', 'authorization, content-type');
    response.setHeader('access-control-allow-methods', 'GET, POST, DELETE');
    if (request.method === 'OPTIONS') {
      response.writeHead(204).end();
      return;
    }
    let text = '';
    for await (const chunk of request) text += chunk;
    const entry: ReceivedRequest = {
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      authorization: request.headers.authorization,
      body: text === '' ? undefined : JSON.parse(text),
    };
    received.push(entry);
    const reply = await handle(entry);
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on: bound, then closed. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
