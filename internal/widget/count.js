/*
 * Parley comment counts for listing pages (front pages, archives): put
 *
 *   <span data-parley-count="https://news.example/story">comments</span>
 *   <script src="https://comments.example.com/count.js" data-site="ledger" async></script>
 *
 * and each span's text becomes the number of comments on that page ("3
 * comments", "No comments yet") in the page's language. data-parley-count
 * is the page's key in Parley: its canonical URL, or its data-page-id.
 * data-site on a span overrides the script's; data-lang (on the span or
 * the script) overrides the page's <html lang>. All the counts of a page
 * come in one request per site (of up to 100 pages); ParleyCount() counts
 * again after the page has added links. Plain JavaScript, no
 * dependencies; built by package widget/build into dist/count.js.
 */
(() => {
'use strict';
const W = window, D = document;
const me = D.currentScript || [...D.scripts].find(s => /\/count\.js([?#]|$)/.test(s.src));
if (!me || W.ParleyCount) return;
const BASE = me.src.replace(/\/count\.js([?#].*)?$/, '');
// Each language's plural forms of "{n} comments", and the words for none.
const WORDS = __PARLEY_COUNTS__;

function text(n, want) {
	const l = want.toLowerCase().split(/[-_]/)[0], loc = WORDS[l] ? l : 'en', w = WORDS[loc];
	if (!n) return w[1];
	return (w[0][new Intl.PluralRules(loc).select(n)] || w[0].other).replace('{n}', new Intl.NumberFormat(loc).format(n));
}

function count() {
	const sites = {};
	for (const e of D.querySelectorAll('[data-parley-count]')) {
		const site = e.dataset.site || me.dataset.site;
		if (site) (sites[site] = sites[site] || []).push(e);
	}
	for (const site in sites) {
		const els = sites[site], keys = [...new Set(els.map(e => e.dataset.parleyCount))];
		// Up to 100 pages a request (the server takes 200), so the address
		// stays short enough for any proxy.
		for (let i = 0; i < keys.length; i += 100) {
			const q = keys.slice(i, i + 100).map(k => 'page=' + encodeURIComponent(k)).join('&');
			fetch(BASE + '/api/v1/sites/' + encodeURIComponent(site) + '/counts?' + q)
				.then(r => r.json().then(d => {
					// A page the site does not allow, or a mistyped data-site:
					// the server says what to do.
					if (!r.ok) return console.error(d.hint || 'Parley: counts: HTTP ' + r.status);
					for (const e of els) {
						const n = d.counts[e.dataset.parleyCount];
						if (n != null) {
							e.textContent = text(n, e.dataset.lang || me.dataset.lang || D.documentElement.lang || navigator.language || 'en');
							e.dataset.parleyN = n;
						}
					}
				}))
				.catch(() => { });
		}
	}
}

W.ParleyCount = count;
if (D.readyState == 'loading') D.addEventListener('DOMContentLoaded', count);
else count();
})();
