/**
 * Pages for the extraction tests of both sides: the extension's (a browser DOM) and the server's
 * (server-fetch.test.ts), which must read the same text from the same bytes. Shaped like real sites:
 * navigation, ads, sidebars, comments, legacy markup, several charsets. Tests only.
 */

export interface FixturePage {
  name: string;
  /** Where the page is served in the tests: links and the canonical URL resolve against it. */
  path: string;
  /** The Content-Type header it is served with. */
  contentType: string;
  body: Uint8Array;
  /**
   * Phrases the extracted text must hold, and phrases (navigation, ads, scripts) it must not. Readability
   * drops an article's heading when it repeats the title, and its byline, so neither is among them.
   */
  mustInclude: string[];
  mustExclude: string[];
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** The characters of windows-1252 above 0x7F that are not Latin-1 (the ones fixtures use). */
const windows1252Extras: Record<string, number> = {
  '€': 0x80,
  '„': 0x84,
  '…': 0x85,
  '‘': 0x91,
  '’': 0x92,
  '“': 0x93,
  '”': 0x94,
  '–': 0x96,
  '—': 0x97,
  œ: 0x9c,
};

/** Encodes text as windows-1252 (TextEncoder only writes UTF-8); throws on a character it cannot hold. */
function windows1252(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => {
    const extra = windows1252Extras[char];
    if (extra !== undefined) return extra;
    const code = char.codePointAt(0) ?? 0;
    if (code > 0xff || (code >= 0x80 && code < 0xa0)) throw new Error(`not in the fixture's windows-1252: ${char}`);
    return code;
  });
}

/** A deterministic sentence generator, so the long article reads like prose without being random. */
function prose(seed: number, sentences: number): string {
  const subjects = ['The harbour authority', 'Local fishermen', 'The city council', 'A team of engineers', 'Residents'];
  const verbs = ['reported', 'argued', 'confirmed', 'questioned', 'documented'];
  const objects = [
    'that the northern breakwater had shifted by nearly forty centimetres since the spring storms',
    'the cost of dredging the channel before the autumn tides',
    'a steady decline in the number of boats landing their catch at the old quay',
    'how the new tidal gauge recorded water levels every ninety seconds',
    'whether the ferry timetable could be kept during the repair works',
  ];
  const out: string[] = [];
  for (let i = 0; i < sentences; i += 1) {
    const k = seed * 7 + i * 3;
    out.push(
      `${subjects[k % subjects.length]} ${verbs[(k + 1) % verbs.length]} ${objects[(k + 2) % objects.length]} (note ${seed}.${i}).`,
    );
  }
  return out.join(' ');
}

function newsArticle(): FixturePage {
  const navItems = ['World', 'Politics', 'Business', 'Science', 'Climate', 'Sport', 'Culture', 'Opinion', 'Video'];
  const nav = navItems.map((item) => `<li class="nav-item"><a href="/section/${item.toLowerCase()}">${item}</a></li>`);
  const paragraphs = Array.from({ length: 36 }, (_, i) => prose(i + 1, 4));
  const body: string[] = [];
  paragraphs.forEach((paragraph, i) => {
    if (i === 6) body.push('<h2>What the engineers found</h2>');
    if (i === 14)
      body.push(
        '<blockquote><p>“We have never measured anything like it on this coast,” said one surveyor.</p></blockquote>',
      );
    if (i === 18) {
      body.push(
        '<div class="ad-slot" id="ad-inline-1"><span>Advertisement</span><ins class="adsbygoogle" data-ad-slot="123"></ins></div>',
      );
      body.push('<h2>The cost of <em>waiting</em></h2>');
    }
    if (i === 24) {
      body.push(
        '<figure><img src="/img/quay.jpg" alt="The old quay at low tide"><figcaption>The old quay at low tide, photographed in March.</figcaption></figure>',
      );
    }
    if (i === 28)
      body.push(
        '<ul><li>Dredging: two weeks</li><li>Breakwater repair: <b>six</b> months</li><li>New gauge: installed</li></ul>',
      );
    body.push(`<p>${paragraph.replace('tidal gauge', '<a href="/topics/tides">tidal gauge</a>')}</p>`);
  });
  const related = Array.from(
    { length: 12 },
    (_, i) => `<li><a href="/news/2025/related-${i}">Related story number ${i} about the coast</a></li>`,
  ).join('');
  const footerLinks = Array.from({ length: 30 }, (_, i) => `<a href="/about/page-${i}">Footer link ${i}</a>`).join(
    ' | ',
  );
  const html = `<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Harbour breakwater shifted after storms, survey finds | The Coastal Times</title>
<link rel="canonical" href="https://coastal-times.example/news/2025/breakwater-survey">
<style>.ad-slot{min-height:250px}.nav-item{display:inline}</style>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","headline":"Harbour breakwater shifted"}</script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());</script>
</head>
<body class="article-page">
<div id="cookie-banner" role="dialog"><p>We use cookies to improve your experience. <button>Accept all</button> <button>Manage</button></p></div>
<header class="site-header">
  <a class="logo" href="/">The Coastal Times</a>
  <nav aria-label="Main"><ul>${nav.join('')}</ul></nav>
  <form class="search" action="/search"><input name="q" placeholder="Search"><button>Go</button></form>
</header>
<div class="ad-slot" id="ad-top"><span>Advertisement</span></div>
<div class="layout">
<main id="content">
<article class="story">
  <header>
    <h1>Harbour breakwater shifted after storms, survey finds</h1>
    <p class="byline">By <a href="/authors/m-lewis" rel="author">Mara Lewis</a>, coastal affairs reporter · <time datetime="2025-05-30">30 May 2025</time></p>
  </header>
  <div class="share"><a href="https://social.example/share?u=x">Share</a> <a href="mailto:?subject=story">Email</a></div>
  <div class="story-body">
  ${body.join('\n  ')}
  </div>
  <p class="correction"><i>This article was amended on 31 May 2025 to correct the length of the breakwater.</i></p>
</article>
<section class="comments" id="comments">
  <h2>Comments (3)</h2>
  <div class="comment"><p class="comment-author">seagull42</p><p>About time someone measured this.</p></div>
  <div class="comment"><p class="comment-author">harbourwatch</p><p>The ferry was late all week.</p></div>
</section>
</main>
<aside class="sidebar">
  <h3>Most read</h3>
  <ol>${related}</ol>
  <div class="ad-slot" id="ad-side"><span>Advertisement</span></div>
  <div class="newsletter"><h3>Sign up to the morning briefing</h3><form><input type="email"><button>Subscribe</button></form></div>
</aside>
</div>
<footer class="site-footer"><p>${footerLinks}</p><p>© 2025 The Coastal Times. All rights reserved.</p></footer>
<script src="/static/app.js"></script>
<script>document.querySelectorAll('.ad-slot').forEach(function(s){s.dataset.loaded='1'});</script>
</body>
</html>`;
  return {
    name: 'news article with navigation, ads, sidebar, comments and footer',
    path: '/news/2025/breakwater-survey?ref=home',
    contentType: 'text/html; charset=utf-8',
    body: utf8(html),
    mustInclude: [
      prose(1, 4),
      'What the engineers found',
      'We have never measured anything like it on this coast',
      prose(36, 4),
    ],
    mustExclude: ['Most read', 'Footer link 7', 'Accept all', 'dataLayer', 'Sign up to the morning briefing'],
  };
}

function windows1252Post(): FixturePage {
  const html = `<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">
<title>Café notes – Crème brûlée à la façon de Zoë</title>
</head>
<body>
<div id="menu"><a href="/">Accueil</a> · <a href="/recettes">Recettes</a> · <a href="/contact">Contact</a></div>
<div id="post">
<h1>Crème brûlée à la façon de Zoë</h1>
<p>Pour la crème brûlée, il faut de la crème fraîche, des œufs… non, pas d’œufs entiers : seulement les jaunes.
Le coût total ? Environ 4,50 € pour six ramequins — un prix «&nbsp;raisonnable&nbsp;».</p>
<p>Mein Großvater sagte immer: „Süßes schmeckt am besten, wenn man es teilt.“ Das gilt auch für diese Crème brûlée, die man am Tisch flambiert.</p>
<p>“Smart quotes”, ‘single ones’, the en dash in 1998–2004 and the em dash — all in windows-1252, which differs from Latin-1 exactly there.</p>
<p>Ñandú, señor, ¿qué tal? Ça va très bien, merci. Æsir, Øresund, Åland: the Nordic letters are Latin-1 too.</p>
</div>
<div id="footer">© 2004 Zoë’s kitchen — tous droits réservés</div>
</body>
</html>`;
  return {
    name: 'blog post in windows-1252, declared only by a meta tag',
    path: '/recettes/creme-brulee.html',
    contentType: 'text/html',
    body: windows1252(html),
    mustInclude: [
      'la crème fraîche, des œufs…',
      '4,50 € pour six ramequins — un prix',
      '“Smart quotes”, ‘single ones’',
      'Großvater',
    ],
    mustExclude: ['Accueil'],
  };
}

function legacyMarkup(): FixturePage {
  const html = `<HTML><HEAD><TITLE>Tide tables &amp; notes</TITLE>
<META NAME=description CONTENT="old page"></HEAD>
<BODY BGCOLOR=white>
<CENTER><FONT SIZE=5><B>Tide tables &amp; harbour notes</B></FONT></CENTER>
<TABLE WIDTH=100% BORDER=0>
<TR><TD WIDTH=150 VALIGN=top><A HREF="index.html">Home</A><BR><A HREF="tides.html">Tides</A><BR><A HREF="links.html">Links</A></TD>
<TD>
<P>These notes were kept by the harbour master from 1971 onwards. The tables below give high water at the old quay
<P>Each entry is the time of high water, in local time, and its height in metres above chart datum.
<TABLE BORDER=1><TR><TH>Date<TH>High water<TH>Height
<TR><TD>1 June<TD>06:42<TD>4.1
<TR><TD>2 June<TD>07:25<TD>4.3
</TABLE>
<P>Notes on the <b>spring <i>tides</b> of</i> that year follow. Heights&nbsp;are&nbsp;approximate &#8211; within &#177;0.1&nbsp;m.
<UL><LI>Neap tides were unusually low in July<LI>The gauge was moved in 1983<LI>Readings before 1975 are by hand</UL>
<PRE>
  DATE     TIME   HEIGHT
  01/06    06:42  4.1
</PRE>
<!-- a comment that is never text -->
<NOSCRIPT>Enable JavaScript to see the live gauge.</NOSCRIPT>
<P>Last updated: <FONT COLOR=gray>spring 1999</FONT>. Send corrections to the harbour office.
</TD></TR></TABLE>
<HR>
<CENTER><SMALL>Best viewed in any browser</SMALL></CENTER>
</BODY></HTML>`;
  return {
    name: 'legacy markup: table layout, unclosed paragraphs and cells, misnested tags, entities, pre',
    path: '/~harbour/tides.html',
    contentType: 'text/html; charset=ISO-8859-1',
    body: utf8(html),
    mustInclude: ['kept by the harbour master from 1971 onwards', 'Neap tides were unusually low in July', '06:42'],
    mustExclude: ['Enable JavaScript', 'a comment that is never text'],
  };
}

function docsPage(): FixturePage {
  const sidebar = ['install', 'configure', 'deploy', 'troubleshoot', '../api/index', '/blog/'].map(
    (href) => `<li><a href="${href}">${href}</a></li>`,
  );
  const sections = Array.from(
    { length: 8 },
    (
      _,
      i,
    ) => `<section id="step-${i}"><h2>Step ${i + 1}: ${['Install', 'Configure', 'Run', 'Check', 'Tune', 'Back up', 'Upgrade', 'Remove'][i]}</h2>
<p>${prose(100 + i, 3)}</p>
<pre><code>gauge --step ${i + 1} --verbose\n  --output=/var/lib/gauge/step-${i + 1}.log</code></pre>
<dl><dt>Option <code>--step</code></dt><dd>Which step to run; steps run in order.</dd></dl>
<p>See <a href="#step-${(i + 1) % 8}">the next step</a> or the <a href="reference#flags">flag reference</a>.</p></section>`,
  );
  const html = `<!doctype html>
<html lang="en-US"><head><meta charset="utf-8"><base href="/docs/v2/">
<title>Installing the tide gauge — Gauge documentation</title>
<link rel="canonical" href="install"></head>
<body><div class="wrapper"><nav class="docs-sidebar"><ul>${sidebar.join('')}</ul></nav>
<main><article><h1>Installing the tide gauge</h1>
<p class="lead">This guide takes you from an empty machine to a gauge that reports every ninety seconds.</p>
<table><thead><tr><th>Platform</th><th>Supported</th></tr></thead><tbody><tr><td>Linux</td><td>yes</td></tr><tr><td>Windows</td><td>no</td></tr></tbody></table>
${sections.join('\n')}
</article></main></div>
<footer><a href="/legal">Legal</a> <a href="https://other.example/x">Elsewhere</a></footer></body></html>`;
  return {
    name: 'documentation page with <base href>, code blocks, tables and a sidebar',
    path: '/docs/v2/install',
    contentType: 'text/html;charset=UTF-8',
    body: utf8(html),
    mustInclude: ['This guide takes you from an empty machine', 'gauge --step 3 --verbose', prose(104, 3)],
    mustExclude: ['troubleshoot', 'Legal'],
  };
}

function japaneseArticle(): FixturePage {
  const paragraphs = [
    '港の防波堤が春の嵐の後に約四十センチ移動していたことが、市の調査で分かった。',
    '調査を担当した技術者によると、移動は北側の区間に集中しており、早急な補修が必要だという。',
    '漁業関係者は「水揚げへの影響が心配だ」と話している。市は秋までに補修計画をまとめる方針だ。',
    '新しい潮位計は九十秒ごとに水位を記録し、そのデータは市のウェブサイトで公開される予定である。',
  ];
  const html = `<!DOCTYPE html><html lang="ja"><head><meta charset="UTF-8"><title>防波堤が移動　市の調査で判明</title></head>
<body><header><nav><a href="/">トップ</a><a href="/local">地域</a><a href="/sports">スポーツ</a></nav></header>
<article><h1>防波堤が移動　市の調査で判明</h1>${paragraphs.map((p) => `<p>${p}</p>`).join('')}</article>
<aside><h2>ランキング</h2><ol><li><a href="/a/1">人気の記事その一</a></li><li><a href="/a/2">人気の記事その二</a></li></ol></aside>
<footer>著作権 2025 港新聞</footer></body></html>`;
  return {
    name: 'Japanese article in UTF-8',
    path: '/local/2025/breakwater',
    contentType: 'text/html; charset=utf-8',
    body: utf8(html),
    mustInclude: paragraphs,
    mustExclude: ['ランキング', '著作権'],
  };
}

function plainText(): FixturePage {
  const text = `TIDE GAUGE README
=================

The gauge records the water level every ninety seconds.\r\nIt writes one line per reading:

    2025-06-01T06:42:00Z  4.10 m

Readings are in metres above chart datum; the café on the quay keeps a printed copy.
`;
  return {
    name: 'plain text file',
    path: '/files/README.txt',
    contentType: 'text/plain; charset=utf-8',
    body: utf8(text),
    mustInclude: ['The gauge records the water level every ninety seconds.', 'the café on the quay'],
    mustExclude: [],
  };
}

function shortPage(): FixturePage {
  const html = `<html><head><title>Gauge status</title></head><body>
<div class="status">Gauge online</div><div>Last reading: 4.10 m<br>at 06:42</div>
<script>setTimeout(function(){location.reload()},90000)</script></body></html>`;
  return {
    name: 'short status page with no article (the whole body is its text)',
    path: '/status',
    contentType: 'text/html',
    body: utf8(html),
    mustInclude: ['Gauge online', 'Last reading: 4.10 m'],
    mustExclude: ['location.reload'],
  };
}

/** Every fixture page, each at its own path. */
export const fixturePages: readonly FixturePage[] = [
  newsArticle(),
  windows1252Post(),
  legacyMarkup(),
  docsPage(),
  japaneseArticle(),
  plainText(),
  shortPage(),
];
