"""JavaScript that tests/browser/test_rendered_book.py evaluates in each page.

Kept in its own file so that the test module reads as a list of checks. Each constant
is one function for Playwright's ``page.evaluate``; none changes the page, except
``SCROLL_INTO_VIEW``, which scrolls a menu to a link.
"""

from __future__ import annotations

# Is an element something a reader can see right now: rendered (not display:none,
# visibility:hidden or opacity 0), with a box, and horizontally inside the window?
_SHOWN = """
const shown = (e) => {
  if (!e || !e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.left >= -1 && r.right <= window.innerWidth + 1;
};
const hit = (e) => {  // the element's centre is not covered by anything else
  const r = e.getBoundingClientRect();
  if (r.top < 0 || r.bottom > window.innerHeight) return null;  // not in view vertically: unknown
  const at = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return !!at && (at === e || e.contains(at) || at.contains(e));
};
const strip = (href) => href.split('#')[0];
"""

# The site menu (primary sidebar): which of the given chapter URLs are shown as links in
# it, and whether the link to the first one can be clicked (not covered).
MENU = (
    "(chapters) => {"
    + _SHOWN
    + """
  const links = [...document.querySelectorAll('.bd-sidebar-primary a[href], dialog a[href]')];
  const shownHrefs = new Set(links.filter(shown).map((a) => strip(a.href)));
  const first = links.find((a) => strip(a.href) === chapters[0] && shown(a));
  return {shown: chapters.filter((c) => shownHrefs.has(c)), firstClickable: first ? hit(first) : false};
}"""
)

# Scroll the menu so that the link to a URL is in view (to test that it can be clicked).
SCROLL_INTO_VIEW = """
(href) => {
  const a = [...document.querySelectorAll('.bd-sidebar-primary a[href], dialog a[href]')]
    .find((a) => a.href.split('#')[0] === href);
  if (a) a.scrollIntoView({block: 'center'});
}
"""

# The page contents (secondary sidebar): how many of its links there are, and how many
# are shown; whether the first shown one can be clicked.
PAGE_CONTENTS = (
    "() => {"
    + _SHOWN
    + """
  const links = [...document.querySelectorAll('.bd-sidebar-secondary nav a[href], dialog nav.page-toc a[href]')];
  const visible = links.filter(shown);
  return {links: links.length, shown: visible.length, firstClickable: visible.length ? hit(visible[0]) : false};
}"""
)

# Visible ways to search, outside the page's own text (and the search page's own form).
SEARCH_BOXES = (
    "() => {"
    + _SHOWN
    + """
  const sel = ['.search-button-field', '.search-button', 'form.bd-search', '#searchbox',
               'input[type=search]', 'form[role=search]'].join(', ');
  const all = [...document.querySelectorAll(sel)]
    .filter((e) => !e.closest('article.bd-article, .bd-search-container'));  // the search page's form
  const outer = all.filter((e) => !all.some((o) => o !== e && o.contains(e)));
  return outer.filter(shown).map((e) => (e.className || e.id || e.tagName).toString().slice(0, 60));
}"""
)

# Cell outputs (or code cells) that do not fit the text column (its content box, about
# 688 px at 1280 px): the rule is that no element of an output (the output box included)
# reaches beyond the column's right edge, and none has to scroll (scrollWidth beyond its
# box; a formula is measured by its typeset part). Allowed slack: 2 px. Not measured:
# what is under a closed toggle, and the theme's hover-only "#" links. One entry per
# offending block, with its widest part. Argument: [CSS selector of the blocks, name].
WIDE_CELLS = """
([selector, what]) => {
  const column = document.querySelector('article.bd-article') || document.querySelector('main');
  if (!column) return [];
  const style = getComputedStyle(column);
  const right = column.getBoundingClientRect().right - parseFloat(style.paddingRight);
  const width = column.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const slack = 2;  // sub-pixel rounding
  const problems = [];
  document.querySelectorAll(selector).forEach((out, n) => {
    let worst = null;
    for (const e of [out, ...out.querySelectorAll('*')]) {
      if (e.closest('details:not([open])')) continue;  // under a closed toggle: not shown
      if (e.closest('.headerlink')) continue;  // the theme's "#" link, shown on hover
      // A typeset formula is measured by its visible part (mjx-math): MathJax's hidden
      // MathML for screen readers makes its boxes look scrollable when they are not.
      const inMath = e.closest('mjx-container');
      if (inMath && e.tagName !== 'MJX-MATH') continue;
      const r = e.getBoundingClientRect();
      if (r.width === 0) continue;
      const scrolls = e.clientWidth && !inMath && !e.querySelector('mjx-container')
        ? e.scrollWidth - e.clientWidth : 0;
      const over = Math.max(r.right - right, scrolls) - slack;
      if (over > 0 && (!worst || over > worst.over)) {
        worst = {over: Math.round(over), tag: e.tagName.toLowerCase(),
                 width: Math.round(Math.max(r.width, e.scrollWidth))};
      }
    }
    if (worst) {
      const cell = out.closest('.cell');
      const text = (cell ? cell.innerText : out.innerText).trim().replace(/\\s+/g, ' ').slice(0, 70);
      problems.push(`${what} ${n + 1} (${text}...): <${worst.tag}> ${worst.width} px, ` +
                    `${worst.over + slack} px beyond the ${Math.round(width)} px column`);
    }
  });
  return problems;
}
"""

# Every image of the page's text: in a <figure> with a numbered, non-empty caption, and
# with an alt text that says something (not empty, not a file name).
FIGURES = """
() => {
  const main = document.querySelector('article.bd-article') || document.querySelector('main');
  if (!main) return [];
  const problems = [];
  main.querySelectorAll('img').forEach((img) => {
    const name = (img.getAttribute('src') || '').split('/').pop().slice(0, 24);
    const alt = (img.getAttribute('alt') || '').trim();
    const figure = img.closest('figure');
    const caption = figure && figure.querySelector('figcaption .caption-text');
    const number = figure && figure.querySelector('figcaption .caption-number');
    if (!figure) problems.push(`image ${name} is not in a figure (no caption, no number)`);
    else if (!caption || !caption.textContent.trim()) problems.push(`figure ${figure.id || name} has no caption`);
    else if (!number) problems.push(`figure ${figure.id || name} is not numbered`);
    if (!alt || /\\.(png|svg|jpe?g|gif)$/i.test(alt) || alt === name) {
      problems.push(`image ${name} ${figure ? '(figure ' + figure.id + ') ' : ''}has no alt text`);
    }
  });
  return problems;
}
"""

# Links that point at an equation (``{eq}`` references): href and text, from the page's
# text only (not its menus).
EQUATION_LINKS = """
() => [...document.querySelectorAll('article a.reference.internal[href*="#equation-"]')]
  .filter((a) => !a.classList.contains('headerlink'))
  .map((a) => ({href: a.href, text: a.textContent.trim()}))
"""

# The page's text, including what is under closed toggles (a reader can open them).
ARTICLE_TEXT = "() => (document.querySelector('article.bd-article') || document.body).textContent"

# The derivation chains of the page: every formula MathJax typeset from a cell output
# whose TeX is an ``aligned`` environment (what ``bplit.derive.Chain`` displays). For each:
# whether it was typeset without a MathJax error, and whether its box lies inside the
# window (a chain wider than its column scrolls inside its own box, never the page).
CHAINS = """
() => {
  const MJ = window.MathJax;
  const items = (MJ && MJ.startup && MJ.startup.document) ? Array.from(MJ.startup.document.math) : [];
  return items
    .filter((it) => String(it.math).includes('\\\\begin{aligned}') && it.typesetRoot
                    && it.typesetRoot.closest('.cell_output'))
    .map((it) => {
      const root = it.typesetRoot;
      const r = root.getBoundingClientRect();
      return {tex: String(it.math).slice(0, 80), error: !!root.querySelector('mjx-merror'),
              left: r.left, right: r.right, width: r.width, window: window.innerWidth,
              scrolls: root.scrollWidth > root.clientWidth + 1};
    });
}
"""

# Tables stacked on a phone (class stack-on-phone): for each, whether any cell sticks out
# of the window or the table has to scroll sideways.
STACKED_TABLES = """
() => [...document.querySelectorAll('table.stack-on-phone')].map((t) => {
  const cells = [...t.querySelectorAll('td')];
  const out = cells.filter((c) => c.getBoundingClientRect().right > window.innerWidth + 1).length;
  const box = t.closest('.pst-scrollable-table-container') || t;
  return {cells: cells.length, outside: out, scrolls: box.scrollWidth > box.clientWidth + 1};
})
"""

# Natural and displayed width of each <img> of the page's text, once every image has loaded
# (they may be lazy): the network figures' labels show at their recorded size times shown/natural.
IMAGE_WIDTHS = """
async (timeoutMs) => {
  const main = document.querySelector('article.bd-article') || document.querySelector('main');
  const images = [...main.querySelectorAll('img')];
  for (const img of images) img.loading = 'eager';
  await Promise.race([
    Promise.all(images.map((img) => img.complete ? null : new Promise((resolve) => {
      img.addEventListener('load', resolve);
      img.addEventListener('error', resolve);
    }))),
    new Promise((resolve) => setTimeout(resolve, timeoutMs)),
  ]);
  return images.map((img) => ({name: (img.getAttribute('src') || '').split('/').pop(),
                               natural: img.naturalWidth, shown: img.getBoundingClientRect().width}));
}
"""
