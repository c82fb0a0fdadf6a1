import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * The local site the scraping e2e crawls: about fifty article pages, a redirect chain, a slow page,
 * an oversized page, a binary file, a robots.txt-disallowed path, and redirects to a "trap" origin
 * that the extension must never reach. Its port is fixed because test builds of the extension allow
 * exactly this origin (GLEANER_TEST_ORIGINS, set at build time by `npm run build:test`).
 */
export const testSitePort = 47611;
export const trapPort = 47612;
export const testSiteOrigin = `http://127.0.0.1:${testSitePort}`;
export const trapOrigin = `http://127.0.0.1:${trapPort}`;

export const articleCount = 45;

/** The main text of article `n`, as a reader would see it. */
export function articleText(n: number): string {
  return [
    `Field notes number ${n}.`,
    `Gleaning is the act of collecting leftover crops from farmers' fields after they have been harvested. Entry ${n} records what was found on day ${n}.`,
    `The gleaners walked the rows at dawn, carrying baskets woven from willow. They counted ${n * 3} sheaves left behind by the reapers.`,
    `Every entry in this archive is public, and the archive welcomes careful readers and careful crawlers alike.`,
  ].join('\n\n');
}

function page(title: string, body: string, links: string[] = []): string {
  const nav = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<link rel="canonical" href="${testSiteOrigin}${title === 'Index' ? '/' : ''}"></head>
<body><header><nav><ul>${nav}</ul></nav></header>
<main><article><h1>${title}</h1>${body
    .split('\n\n')
    .map((paragraph) => `<p>${paragraph}</p>`)
    .join('')}</article></main><footer>Gleaner test site</footer></body></html>`;
}

export const indexLinks = [
  ...Array.from({ length: articleCount }, (_, i) => `/article/${i + 1}`),
  '/chain/start',
  '/slow',
  '/huge',
  '/file.bin',
  '/private/secret',
  '/to-trap',
  '/to-trap-via-chain',
  'https://elsewhere.example/offsite',
];

export interface TestSite {
  /** Every path the site was asked for, in order. */
  hits: string[];
  close: () => Promise<void>;
}

/** Slow pages whose answers wait for the test (see `holdSlowPages`), each as the function that sends it. */
let heldPages: Array<() => void> | undefined;

/**
 * From now on, pages under /b/ answer only once `release` is called: a test can then stop the server while
 * a fetch is surely in progress, instead of hoping the 1.5 s delay outlasts its own steps. `waiting` counts
 * the requests held so far.
 */
export function holdSlowPages(): { waiting: () => number; release: () => void } {
  const held: Array<() => void> = [];
  heldPages = held;
  return {
    waiting: () => held.length,
    release: () => {
      heldPages = undefined;
      for (const send of held.splice(0)) send();
    },
  };
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const path = (request.url ?? '/').split('?')[0] ?? '/';
  const html = (status: number, text: string) => {
    response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    response.end(text);
  };
  const redirect = (status: number, location: string) => {
    response.writeHead(status, { location });
    response.end();
  };
  if (path === '/robots.txt') {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('User-agent: *\nDisallow: /private/\n');
    return;
  }
  if (path === '/') {
    html(200, page('Index', 'The index of the field notes archive.', indexLinks));
    return;
  }
  const article = /^\/(article|b)\/(\d+)$/.exec(path);
  if (article) {
    const n = Number(article[2]);
    const send = () => html(200, page(`Field notes ${n}`, articleText(n), ['/']));
    // Pages under /b/ answer slowly, or not until the test releases them (holdSlowPages).
    if (article[1] === 'b') {
      if (heldPages) heldPages.push(send);
      else setTimeout(send, 1500);
    } else send();
    return;
  }
  if (path === '/chain/start') {
    redirect(301, '/chain/2');
    return;
  }
  if (path === '/chain/2') {
    redirect(302, `${testSiteOrigin}/chain/3`);
    return;
  }
  if (path === '/chain/3') {
    redirect(307, '/chain/end');
    return;
  }
  if (path === '/chain/end') {
    html(200, page('End of the chain', 'You followed three redirects to get here.'));
    return;
  }
  if (path === '/slow') {
    setTimeout(() => html(200, page('A slow page', 'This page took three seconds to answer, and that is fine.')), 3000);
    return;
  }
  if (path === '/huge') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    const chunk = `<p>${'x'.repeat(1023)}</p>`;
    for (let i = 0; i < 3 * 1024; i += 1) response.write(chunk);
    response.end();
    return;
  }
  if (path === '/file.bin') {
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(Buffer.alloc(4096, 7));
    return;
  }
  if (path === '/private/secret') {
    html(200, page('Secret', 'robots.txt forbids this page.'));
    return;
  }
  if (path === '/to-trap') {
    redirect(302, `${trapOrigin}/stolen`);
    return;
  }
  if (path === '/to-trap-via-chain') {
    redirect(301, '/to-trap');
    return;
  }
  html(404, page('Not found', 'Nothing here.'));
}

async function listen(port: number, handler: (request: IncomingMessage, response: ServerResponse) => void) {
  const hits: string[] = [];
  const server: Server = createServer((request, response) => {
    hits.push(request.url ?? '');
    handler(request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return {
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        // A test that failed while holding pages leaves none held for the next.
        heldPages = undefined;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const startTestSite = (): Promise<TestSite> => listen(testSitePort, handle);

/** The trap: any request reaching it means a redirect escaped the extension's guards. */
export const startTrapServer = (): Promise<TestSite> =>
  listen(trapPort, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end('<title>trapped</title><p>You should never see this.</p>');
  });
