import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Article, htmlPage } from '../../../bench/synthetic-site';

/**
 * The demo's local news site: a front page and a dozen articles in readable English, each inside the
 * markup real news sites wrap around an article (bench/synthetic-site.ts: menus, related links,
 * footer, scripts), with links between the pages. Everything is generated, so it runs offline.
 */

const stories = [
  { town: 'Harwick', crop: 'apples', people: 40, tonnes: 3 },
  { town: 'Millbrook', crop: 'potatoes', people: 25, tonnes: 5 },
  { town: 'Easton Vale', crop: 'pears', people: 18, tonnes: 1 },
  { town: 'Carrow', crop: 'cabbages', people: 32, tonnes: 4 },
  { town: 'Lindqvist Bay', crop: 'carrots', people: 55, tonnes: 6 },
  { town: 'Old Ferring', crop: 'plums', people: 12, tonnes: 1 },
  { town: 'São Bento', crop: 'oranges', people: 70, tonnes: 9 },
  { town: 'Kraków Green', crop: 'beetroot', people: 22, tonnes: 2 },
  { town: 'Wexley', crop: 'onions', people: 36, tonnes: 4 },
  { town: 'Ashby Marsh', crop: 'squash', people: 15, tonnes: 2 },
  { town: 'Northgate', crop: 'cherries', people: 28, tonnes: 1 },
  { town: 'Tallis Cross', crop: 'leeks', people: 44, tonnes: 3 },
];

/** Article `n` (0-based) of the demo site: the same words every run. */
export function demoArticle(n: number): Article {
  const story = stories[n % stories.length] as (typeof stories)[number];
  const { town, crop, people, tonnes } = story;
  const sections = [
    {
      heading: `What was left in the fields`,
      paragraphs: [
        `Volunteers in ${town} collected ${tonnes} tonnes of ${crop} last weekend from fields that had already been harvested by machine. The crop would otherwise have been ploughed back into the soil.`,
        `"The machines miss anything that is too small, too large or slightly marked," said one of the ${people} volunteers. "None of it is wrong to eat. It just does not fit the supermarket's crates."`,
      ],
    },
    {
      heading: `Where the ${crop} went`,
      paragraphs: [
        `Most of the ${crop} went to food banks and school kitchens within twenty miles of ${town}. A smaller share was pressed, pickled or dried by a community kitchen that runs on donated time.`,
        `The farm that opened its fields said it would do so again next season, and asked that gleaners keep to the marked rows and close every gate behind them.`,
      ],
    },
  ];
  const title = `${town} volunteers glean ${tonnes} tonnes of ${crop}`;
  const text = [title, ...sections.flatMap((section) => [section.heading, ...section.paragraphs])].join('\n\n');
  return { title, sections, text };
}

export const demoArticleCount = stories.length;

/** Where article `n` lives on the site (the path bench/synthetic-site.ts links to). */
export const articlePath = (n: number) => `/articles/${n}`;

function frontPage(): string {
  const items = Array.from(
    { length: demoArticleCount },
    (_, n) => `<li><a href="${articlePath(n)}">${demoArticle(n).title}</a></li>`,
  ).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The Daily Example</title></head>
<body><header><h1>The Daily Example</h1><p>Local news from the fields and the towns around them.</p></header>
<main><h2>Latest stories</h2><ul>${items}</ul></main><footer>© The Daily Example</footer></body></html>`;
}

export interface DemoSite {
  origin: string;
  port: number;
  close: () => Promise<void>;
}

/**
 * Serves the site on 127.0.0.1:`port` (0: any free port). It listens before anything else happens,
 * so the port the extension is built for stays the site's; a taken port is refused with the reason.
 */
export async function startDemoSite(port: number): Promise<DemoSite> {
  let origin = '';
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const html = (status: number, body: string) => {
      response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
      response.end(body);
    };
    if (path === '/robots.txt') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('User-agent: *\nAllow: /\n');
      return;
    }
    if (path === '/') return html(200, frontPage());
    const match = /^\/articles\/(\d+)$/.exec(path);
    const n = match ? Number(match[1]) : -1;
    if (n >= 0 && n < demoArticleCount) return html(200, htmlPage(origin, n, demoArticleCount, demoArticle(n)));
    html(404, '<!doctype html><title>Not found</title><p>There is no such page on this demo site.</p>');
  };
  const server = createServer(handle);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`port ${port} on 127.0.0.1 is taken, so the demo site cannot use it: choose another`)
          : error,
      ),
    );
    server.listen(port, '127.0.0.1', resolveListen);
  });
  const bound = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${bound}`;
  return {
    origin,
    port: bound,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
