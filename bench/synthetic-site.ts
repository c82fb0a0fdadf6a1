/**
 * Deterministic synthetic articles and HTML pages for the ingest and upload benchmarks: varied prose
 * (common words drawn Zipf-like, rarer made-up names and numbers, a little non-ASCII) so gzip sees
 * text about as compressible as real articles, and pages with the boilerplate real sites wrap around it.
 */

import { seededRandom } from '../server/src/aggregation/synthetic-crowd';

const commonWords = `the of and to in a is that for it as was with be by on not he this are or his from at which but
have an they you were their one all we can her has there been if more when will would who so no out up said what its
about than into them only some could time these two may first then do any like my now over such our man me even most
made after also did many before must through back years where much your way well down should because each just those
people how too little state good very make world still own see men work long get here between both life being under
never day same another know while last might us great old year off come since against go came right used take three
states himself few house use during without again place around however home small found thought went say part once
general high upon school every does got united left number course war until always away something fact though water
less public put think almost hand enough far took head yet government system better set told nothing night end why
called didn find look asked later point knew city next program business give group toward young days let room
president side social given present several order national possible rather second face per among form important often
things looked early white case john become large big need four within felt along children saw best church ever least
power development light thing seemed family interest want members mind country area others done turned although open
problem god service certain kind began thus different door help sense means whole matter perhaps itself york times
human law line above name example action company hands local show whether five history gave today either act feet
across taken past quite anything seen having death experience body word half really field week car words already
information themselves tell college shall money period held keep sure free probably seems political real behind
cannot miss question air office making brought whose special major heard problems ago became federal moment study
available known result street economic boy position reason change south board individual job society areas west close
turn love community true court force full seem am policy wife future age voice center woman control common necessary
following front sometimes six girl clear further land run students provide feel party able mother music education
university child effect level stood military town short morning total outside rate figure class art century washington
north usually leave therefore evidence percent black million plan market data research report river network energy
harbour bridge festival council budget transport coastal forest railway museum library season weather village garden`
  .split(/\s+/)
  .filter(Boolean);

const syllables = [
  'ka',
  'lo',
  'ven',
  'dra',
  'mi',
  'sto',
  'rel',
  'an',
  'bu',
  'tor',
  'ge',
  'lin',
  'sa',
  'vor',
  'ni',
  'el',
];
const accented = ['café', 'naïve', 'Zürich', 'São Paulo', 'Kraków', 'façade', 'Ørsted', 'résumé', 'Málaga', 'Göteborg'];

/** Cumulative Zipf weights (s = 1) over the common words. */
const zipf = (() => {
  const cumulative: number[] = [];
  let sum = 0;
  for (let rank = 1; rank <= commonWords.length; rank += 1) {
    sum += 1 / rank;
    cumulative.push(sum);
  }
  return cumulative.map((value) => value / sum);
})();

function pickCommon(random: () => number): string {
  const target = random();
  let low = 0;
  let high = zipf.length - 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((zipf[middle] as number) < target) low = middle + 1;
    else high = middle;
  }
  return commonWords[low] as string;
}

function madeUpName(random: () => number): string {
  const count = 2 + Math.floor(random() * 2);
  let name = '';
  for (let i = 0; i < count; i += 1) name += syllables[Math.floor(random() * syllables.length)];
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function word(random: () => number): string {
  const roll = random();
  if (roll < 0.03) return madeUpName(random);
  if (roll < 0.045) return String(Math.floor(random() * (random() < 0.5 ? 100 : 100_000)));
  if (roll < 0.05) return accented[Math.floor(random() * accented.length)] as string;
  return pickCommon(random);
}

function sentence(random: () => number): string {
  const length = 6 + Math.floor(random() * 20);
  const words: string[] = [];
  for (let i = 0; i < length; i += 1) {
    let next = word(random);
    if (i > 1 && i < length - 2 && random() < 0.06) next += ',';
    words.push(next);
  }
  const text = words.join(' ');
  const end = random() < 0.9 ? '.' : random() < 0.5 ? '?' : '!';
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}${end}`;
}

export interface Article {
  title: string;
  /** Subheadings sit between paragraphs; `text` is what an extractor should recover. */
  sections: Array<{ heading: string; paragraphs: string[] }>;
  text: string;
}

/** An article of about `targetChars` characters of prose, the same for the same seed. */
export function article(seed: number, targetChars = 8000): Article {
  const random = seededRandom(seed);
  const title = sentence(random)
    .replace(/[.?!]$/, '')
    .split(' ')
    .slice(0, 9)
    .join(' ');
  const sections: Article['sections'] = [];
  let length = 0;
  while (length < targetChars) {
    const heading = sentence(random)
      .replace(/[.?!]$/, '')
      .split(' ')
      .slice(0, 5)
      .join(' ');
    const paragraphs: string[] = [];
    const count = 2 + Math.floor(random() * 3);
    for (let p = 0; p < count && length < targetChars; p += 1) {
      const sentences: string[] = [];
      const sentenceCount = 3 + Math.floor(random() * 5);
      for (let s = 0; s < sentenceCount; s += 1) sentences.push(sentence(random));
      const paragraph = sentences.join(' ');
      paragraphs.push(paragraph);
      length += paragraph.length + 2;
    }
    sections.push({ heading, paragraphs });
    length += heading.length + 2;
  }
  const text = [title, ...sections.flatMap((section) => [section.heading, ...section.paragraphs])].join('\n\n');
  return { title, sections, text };
}

const sectionsOfSite = ['News', 'World', 'Business', 'Technology', 'Science', 'Culture', 'Sport', 'Opinion'];
const utility = 'flex items-center gap-2 px-3 py-2 text-sm font-medium text-slate-700 hover:text-slate-900';
const icon =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 21l-4.35-4.35M11 19a8 8 0 1 1 0-16 8 8 0 0 1 0 16z"/></svg>';

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A news-site page around article `index`: head with meta tags, inline CSS, JSON-LD and an analytics
 * snippet; header with a mega-menu; breadcrumb; the article with inline links and a figure; related
 * links; newsletter form; a large footer; cookie banner; a hydration blob and script tags.
 */
export function htmlPage(origin: string, index: number, pageCount: number, content: Article): string {
  const random = seededRandom(index * 7919 + 17);
  const path = (i: number) => `/articles/${i}`;
  const link = (i: number, text: string, extra = '') =>
    `<a href="${path(i)}" class="${utility}${extra}" data-track="nav-${i}">${escapeHtml(text)}</a>`;
  const other = () => Math.floor(random() * pageCount);

  const css = sectionsOfSite
    .map(
      (name, i) =>
        `.section-${name.toLowerCase()} .card:nth-child(${i + 1}){border-left:4px solid hsl(${i * 45} 70% 45%);padding:1rem 1.25rem;margin:0 0 1rem;background:linear-gradient(90deg,hsl(${i * 45} 80% 97%),#fff)}\n.section-${name.toLowerCase()} .card h3{font:600 1.125rem/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a}`,
    )
    .join('\n');
  const menu = sectionsOfSite
    .map(
      (name) =>
        `<li class="relative group"><button class="${utility}" aria-expanded="false" aria-haspopup="true">${name}</button><ul class="absolute hidden group-hover:block bg-white shadow-lg rounded-md p-2 w-64 z-50">${Array.from(
          { length: 6 },
          () => `<li>${link(other(), `${name}: ${madeUpName(random)} ${pickCommon(random)}`, ' block w-full')}</li>`,
        ).join('')}</ul></li>`,
    )
    .join('');

  const body = content.sections
    .map(
      (section, s) =>
        `<h2 id="section-${s}" class="mt-8 mb-3 text-2xl font-semibold tracking-tight">${escapeHtml(section.heading)}</h2>${section.paragraphs
          .map((paragraph) => {
            // Turn one word of each paragraph into an inline link, as articles do.
            const words = paragraph.split(' ');
            const at = Math.floor(random() * words.length);
            words[at] =
              `<a href="${path(other())}" class="text-blue-700 underline decoration-1 underline-offset-2 hover:decoration-2">${escapeHtml(words[at] as string)}</a>`;
            return `<p class="mb-4 leading-relaxed text-slate-800">${words.map((w) => (w.startsWith('<a ') ? w : escapeHtml(w))).join(' ')}</p>`;
          })
          .join('\n')}${
          s === 0
            ? `<figure class="my-6"><img src="/img/${index}-hero.jpg" srcset="/img/${index}-hero-480.jpg 480w, /img/${index}-hero-960.jpg 960w, /img/${index}-hero-1440.jpg 1440w" sizes="(max-width: 768px) 100vw, 768px" alt="" loading="lazy" width="1440" height="810" class="w-full rounded-lg"><figcaption class="mt-2 text-sm text-slate-500">Photo: ${madeUpName(random)} ${madeUpName(random)} / Agency</figcaption></figure>`
            : ''
        }`,
    )
    .join('\n');

  const related = Array.from({ length: 8 }, () => {
    const i = other();
    return `<li class="card flex gap-3"><img src="/img/${i}-thumb.jpg" width="96" height="64" alt="" loading="lazy" class="rounded"><div><h3>${link(i, `${madeUpName(random)} ${pickCommon(random)} ${pickCommon(random)} ${pickCommon(random)}`)}</h3><p class="text-xs text-slate-500">${1 + Math.floor(random() * 12)} min read</p></div></li>`;
  }).join('');
  const footer = sectionsOfSite
    .slice(0, 4)
    .map(
      (name) =>
        `<div><h4 class="mb-3 text-sm font-semibold uppercase tracking-wider text-slate-400">${name}</h4><ul class="space-y-2">${Array.from(
          { length: 8 },
          () => `<li>${link(other(), `${pickCommon(random)} ${pickCommon(random)}`)}</li>`,
        ).join('')}</ul></div>`,
    )
    .join('');
  const state = JSON.stringify({
    props: {
      page: { id: index, section: sectionsOfSite[index % sectionsOfSite.length], template: 'article' },
      menu: sectionsOfSite.map((name) => ({ name, href: `/${name.toLowerCase()}`, children: 6 })),
      ads: Array.from({ length: 6 }, (_, slot) => ({
        slot: `div-gpt-ad-${slot}`,
        sizes: [
          [300, 250],
          [728, 90],
        ],
      })),
      flags: { paywall: false, comments: true, newsletter: true, darkMode: 'auto', experiment: 'b' },
    },
    buildId: 'k3J9x2mQp7',
  });
  const title = escapeHtml(content.title);
  const url = `${origin}${path(index)}`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} | The Daily Example</title>
<meta name="description" content="${escapeHtml(content.sections[0]?.paragraphs[0]?.slice(0, 155) ?? '')}">
<meta property="og:title" content="${title}"><meta property="og:type" content="article"><meta property="og:url" content="${url}">
<meta property="og:image" content="${origin}/img/${index}-hero-1440.jpg"><meta name="twitter:card" content="summary_large_image">
<link rel="canonical" href="${url}">
<link rel="preconnect" href="https://fonts.example.net" crossorigin>
<link rel="stylesheet" href="/assets/app.4f9c2e.css"><link rel="stylesheet" href="/assets/article.91ab07.css">
<link rel="preload" as="script" href="/assets/runtime.2d4e6f.js"><link rel="icon" href="/favicon.ico">
<style>
:root{--brand:#0b5fff;--ink:#0f172a;--muted:#64748b}body{margin:0;font:16px/1.6 system-ui,sans-serif;color:var(--ink)}
${css}
</style>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","headline":${JSON.stringify(content.title)},"datePublished":"2025-0${1 + (index % 9)}-1${index % 10}T08:00:00Z","author":{"@type":"Person","name":"${madeUpName(random)} ${madeUpName(random)}"},"publisher":{"@type":"Organization","name":"The Daily Example","logo":{"@type":"ImageObject","url":"${origin}/logo.png"}},"mainEntityOfPage":"${url}"}</script>
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='https://tags.example.net/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-X1Y2Z3');window.consent={analytics:false,ads:false,update:function(k,v){this[k]=v;document.cookie='consent='+JSON.stringify(this)+';path=/;max-age=31536000'}};</script>
</head>
<body class="section-${(sectionsOfSite[index % sectionsOfSite.length] as string).toLowerCase()} bg-white antialiased">
<a href="#main" class="sr-only focus:not-sr-only">Skip to content</a>
<header class="sticky top-0 z-40 border-b border-slate-200 bg-white/95 backdrop-blur">
<div class="mx-auto flex max-w-7xl items-center justify-between px-4 py-3"><a href="/" class="text-xl font-black tracking-tight">The Daily Example</a>
<form action="/search" class="hidden md:flex items-center gap-2" role="search"><input type="search" name="q" placeholder="Search" class="rounded-md border border-slate-300 px-3 py-1.5 text-sm"><button type="submit" class="${utility}">${icon}<span class="sr-only">Search</span></button></form>
<nav aria-label="Main"><ul class="flex items-center gap-1">${menu}</ul></nav></div>
</header>
<nav aria-label="Breadcrumb" class="mx-auto max-w-3xl px-4 pt-6 text-sm text-slate-500"><ol class="flex gap-2"><li><a href="/">Home</a></li><li aria-hidden="true">/</li><li><a href="/${(sectionsOfSite[index % sectionsOfSite.length] as string).toLowerCase()}">${sectionsOfSite[index % sectionsOfSite.length]}</a></li></ol></nav>
<main id="main" class="mx-auto grid max-w-7xl grid-cols-1 gap-10 px-4 py-8 lg:grid-cols-[1fr_320px]">
<article class="prose prose-slate max-w-3xl">
<h1 class="mb-4 text-4xl font-bold leading-tight">${title}</h1>
<p class="byline text-sm text-slate-500">By <a href="/authors/${index % 13}">${madeUpName(random)} ${madeUpName(random)}</a> · <time datetime="2025-06-0${1 + (index % 9)}">June ${1 + (index % 9)}, 2025</time></p>
${body}
</article>
<aside class="space-y-8"><section><h2 class="mb-4 text-lg font-semibold">Related</h2><ul class="space-y-4">${related}</ul></section>
<section class="rounded-lg bg-slate-50 p-5"><h2 class="text-lg font-semibold">Newsletter</h2><p class="text-sm text-slate-600">The morning briefing, every weekday.</p><form action="/newsletter" method="post" class="mt-3 flex gap-2"><input type="email" name="email" required placeholder="you@example.com" class="flex-1 rounded-md border px-3 py-2 text-sm"><button class="rounded-md bg-blue-600 px-4 py-2 text-sm font-semibold text-white">Sign up</button></form></section>
<div id="div-gpt-ad-0" class="min-h-[250px]" data-ad-slot="sidebar-1"></div></aside>
</main>
<footer class="mt-16 border-t border-slate-200 bg-slate-900 text-slate-300"><div class="mx-auto grid max-w-7xl grid-cols-2 gap-8 px-4 py-12 md:grid-cols-4">${footer}</div>
<div class="mx-auto flex max-w-7xl items-center justify-between px-4 py-6 text-xs text-slate-500"><p>© 2025 The Daily Example Ltd. All rights reserved.</p><ul class="flex gap-4"><li><a href="/privacy">Privacy</a></li><li><a href="/terms">Terms</a></li><li><a href="/cookies">Cookies</a></li><li><a href="/contact">Contact</a></li></ul></div></footer>
<div id="cookie-banner" role="dialog" aria-live="polite" class="fixed inset-x-0 bottom-0 z-50 hidden bg-white p-4 shadow-2xl"><p class="text-sm">We use cookies to measure our audience and show relevant ads. You can change your choice at any time.</p><button onclick="consent.update('analytics',true);consent.update('ads',true);this.parentNode.remove()" class="rounded bg-blue-600 px-3 py-1 text-white">Accept all</button> <button onclick="this.parentNode.remove()" class="rounded border px-3 py-1">Reject</button></div>
<script id="__STATE__" type="application/json">${state}</script>
<script src="/assets/runtime.2d4e6f.js" defer></script><script src="/assets/vendor.8a1b3c.js" defer></script><script src="/assets/article.77e0d1.js" defer></script>
</body>
</html>
`;
}
