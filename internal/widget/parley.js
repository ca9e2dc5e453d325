/*
 * Parley comment section: plain JavaScript, no dependencies, one global
 * (window.Parley). Embed it with
 *
 *   <div id="parley" data-site="demo"></div>
 *   <script src="https://comments.example.com/embed.js" async></script>
 *
 * Optional attributes on the div:
 *   data-page-id  the page's key in Parley. Default: the page key of a
 *                 server-rendered thread inside the div, else the href of
 *                 <link rel="canonical">, else the page's origin + path.
 *   data-lang     language, e.g. "ar". Default: <html lang>, else the
 *                 browser's language.
 *   data-theme    light | dark | auto (default). Auto follows the host
 *                 page's background colour, or prefers-color-scheme when
 *                 the page sets none.
 *   data-title    title sent with new comments. Default: document.title.
 *   data-sort     first sort order: oldest (default) | newest | top.
 *   data-sso      for a site with its own accounts: the token it signed
 *                 for this page view (see Parley's docs on site SSO); the
 *                 reader is then logged in as its site account. Present
 *                 but empty (data-sso="") says nobody is logged in on the
 *                 site, which logs out a reader logged in that way.
 * More than one section on a page: mark each div with data-parley (and
 * data-site) instead of id="parley". Parley.mount(div) mounts one later,
 * e.g. after client-side navigation, and returns a promise that resolves
 * once the section is shown.
 *
 * A server-rendered thread (Parley's HTML fragment, which puts itself in
 * a declarative shadow root of the div) stays visible until the widget
 * has loaded, which then replaces it in that shadow root; if loading
 * fails, it stays. The widget renders inside a shadow root, so the page's
 * styles don't reach it and its styles don't leak out; theme it with the
 * --parley-* custom properties listed in parley.css, set on the div.
 * The Parley server is the origin (and path prefix) of this script's src.
 *
 * Log-in: the reader's Parley session token is kept in the page's
 * localStorage ("parley-session:" + server) and sent as a Bearer header,
 * so it works where third-party cookies are blocked. A log-in runs in a
 * popup that hands back a one-time code by postMessage, or, when popups
 * are blocked, in this tab, coming back with #parley-login=CODE.
 *
 * widget.New builds the served script: it minifies this file (esbuild)
 * and inlines the English table, where the other languages' tables are
 * (fetched when a section needs one) and the stylesheet's hashed path for
 * the two placeholders.
 */
(() => {
'use strict';
const W = window, D = document;
if (W.Parley) return;
// The translation tables: the keys, the English strings in that order, the
// directory of the other languages' strings (DIR + lang + '.json'), those
// languages, and which of them are written right to left.
const [KEYS, EN, DIR, LANGS, RTL] = __PARLEY_I18N__;
const SRC = /^(.*?)\/(?:embed\.js|widget\/[^/]+\/parley\.js)(?:[?#].*)?$/;
const me = D.currentScript || [...D.scripts].find(s => SRC.test(s.src));
const m = me && SRC.exec(me.src);
const BASE = m ? m[1] : me ? new URL(me.src).origin : location.origin;
const ORIGIN = new URL(BASE).origin;
const SORTS = ['oldest', 'newest', 'top', 'featured'];
const PAGE = 50, DAY = 864e5;

// localStorage can be missing, full or forbidden (private modes, sandboxed
// frames); the widget then simply forgets between visits. store(k) reads,
// store(k, v) writes and store(k, null) removes.
const store = (k, v) => { try { return v === undefined ? localStorage.getItem(k) : v == null ? localStorage.removeItem(k) : localStorage.setItem(k, v) } catch (e) { return null } };
const load = k => { try { return JSON.parse(store('parley:' + k)) } catch (e) { return null } };
const save = (k, v) => store('parley:' + k, JSON.stringify(v));
// The session token, and the reader it belongs to (a cache of /me).
const SK = 'parley-session:' + BASE, UK = 'user:' + BASE;
const tok = () => store(SK);
// KEY is this browser's key for log-ins: every log-in the widget starts
// carries it, and the code it comes back with is only redeemed with it, so
// a code from someone else's log-in (a link planted in a page) is refused.
const KK = 'parley-key:' + BASE, PK = 'parley-pending:' + BASE;
let KEY = store(KK);
if (!/^[\w-]{22,64}$/.test(KEY)) store(KK, KEY = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(18)))).replace(/\+/g, '-').replace(/\//g, '_'));
const list = k => { const v = load(k); return Array.isArray(v) ? v : [] };

// h builds an element. Attributes that are null or false are left out;
// functions become event listeners; children are nodes or strings, which
// become text. Nothing the widget draws is set as markup.
function h(tag, attrs, ...kids) {
	const e = D.createElement(tag);
	for (const k in attrs) {
		const v = attrs[k];
		if (v == null || v === false) continue;
		if (typeof v == 'function') e.addEventListener(k.slice(2), v);
		else e.setAttribute(k, v === true ? '' : v);
	}
	e.append(...kids.flat(9).filter(c => c != null && c !== false && c !== ''));
	return e;
}

// rich turns a comment's HTML into nodes holding only what Parley's
// sanitiser writes: the elements of its allow-list, links to http(s) and
// mailto addresses (with their rel), list starts. The server sanitised it
// when it was written; this holds whatever reached the store. The HTML is
// parsed in a template, which runs and loads nothing, and copied node by
// node; anything else keeps only its text.
const KEEP = /^(p|br|em|strong|del|blockquote|code|pre|ul|ol|li|a|b|i|q|cite|abbr|s|strike|u|sub|sup)$/;
const copy = n => [...n.childNodes].map(c => {
	const t = c.localName, a = c.nodeType == 1 && (k => c.getAttribute(k));
	return c.nodeType == 3 ? c.data : !a ? '' : !KEEP.test(t) ? copy(c) :
		h(t, t == 'a' && /^(https?:\/\/|mailto:)/i.test(a('href')) ? {href: a('href'), rel: 'nofollow ugc noopener'} : t == 'ol' && /^\d{1,9}$/.test(a('start')) && {start: a('start')}, copy(c));
});
const rich = s => { const t = D.createElement('template'); t.innerHTML = s; return copy(t.content) };

// api calls Parley at BASE + path. HTTP errors throw with .status and
// .info (the {code, message, field} the server sent); network errors throw
// without .status. Reads always revalidate (a cheap 304 thanks to the
// ETag): the server lets caches keep threads for a few seconds, but a
// reader who has just posted or liked must see it after a reload.
// Everything but thread reads carries the session token, read at the call
// (before any await), so a caller may use the old one just before
// replacing it.
async function api(method, path, body, lang, more) {
	const k = tok(), headers = {...more};
	// Parley's own messages (errors the tables lack) in the section's language.
	if (lang) headers['Accept-Language'] = lang;
	if (k && (method != 'GET' || /\/me$/.test(path))) headers.Authorization = 'Bearer ' + k;
	if (body) headers['Content-Type'] = 'application/json';
	const r = await fetch(BASE + path, body ? {method, headers, body: JSON.stringify(body)} : {method, headers, cache: 'no-cache'});
	const d = await r.json().catch(() => ({}));
	if (!r.ok) {
		// A page on an origin its site does not allow, or a mistyped
		// data-site: the reader sees the usual short message, the site's
		// owner finds in the console what to do (the server's hint).
		d.hint && console.error(d.hint);
		throw Object.assign(new Error('HTTP ' + r.status), {status: r.status, info: d.error || {}});
	}
	return d;
}

// reader returns the anonymous reader token, asking the server for one the
// first time; '' when that fails (posting still works without it).
let readerP;
function reader() {
	if (!readerP) {
		readerP = (async () => {
			let tok = load('reader');
			if (!tok) {
				tok = (await api('POST', '/api/v1/reader')).reader;
				save('reader', tok);
			}
			return tok;
		})().catch(() => { readerP = null; return '' });
	}
	return readerP;
}
function forgetReader(e) {
	if (e.info && e.info.field == 'reader') { save('reader', null); readerP = null }
}

// back is what a log-in in this tab came back with (#parley-login=CODE or
// #parley-login-error=MESSAGE): taken off the address bar at once, and
// handled by the first section mounted.
let back = /[#&]parley-login(-error)?=([^&]*)/.exec(location.hash), ssos = {};
if (back) {
	history.replaceState(history.state, '', location.pathname + location.search + location.hash.replace(/([#&])parley-login[^&]*&?/, '$1').replace(/[#&]$/, ''));
	try { back[2] = decodeURIComponent(back[2].replace(/\+/g, ' ')) } catch (e) { }
}

// strings returns a language's strings (in KEYS order), fetched once for
// the page; null if they cannot be had within 10 s (asked again next time).
const tables = {en: EN};
const strings = l => tables[l] || (tables[l] = fetch(BASE + DIR + l + '.json', {signal: AbortSignal.timeout && AbortSignal.timeout(1e4)})
	.then(r => r.ok ? r.json() : Promise.reject()).catch(() => { delete tables[l]; return null }));

// mount shows the comment section in host, once its language's strings
// are here (the server-rendered thread, if any, stays until then). It
// returns a promise of the section.
function mount(host) {
	if (!host || !host.dataset.site) return Promise.resolve();
	if (host.parley) return host.parley;
	// Language: the table for the base language (English if we have none).
	const want = host.dataset.lang || D.documentElement.lang || navigator.language || 'en';
	const base = want.toLowerCase().split(/[-_]/)[0];
	const lang = LANGS.includes(base) ? base : 'en';
	// Without its words, the section is wholly English (layout, dates and
	// Parley's pages too) rather than a mix.
	return (host.parley = Promise.resolve(strings(lang)).then(V => V ? show(host, want, base, lang, V) : show(host, 'en', 'en', 'en', EN)));
}

function show(host, want, base, lang, V) {
	const ask = (m, p, b, more) => api(m, p, b, lang, more);
	const ds = host.dataset, site = ds.site, S = encodeURIComponent(site);
	// A server-rendered thread is in the div's shadow root, which the
	// browser made from its declarative <template shadowrootmode>.
	const root = host.shadowRoot || host.attachShadow({mode: 'open'}), pre = root.querySelector('.parley[data-page]');
	const canon = D.querySelector('link[rel=canonical]');
	const page = ds.pageId || (pre && pre.dataset.page) || (canon && canon.href) || location.origin + location.pathname;
	const url = canon ? canon.href : location.href.split('#')[0];
	const title = ds.title || D.title;

	// Intl gets the full tag when it is the same language, so ar-EG dates.
	let loc = base == lang ? want.replace(/_/g, '-') : lang;
	try { Intl.getCanonicalLocales(loc) } catch (e) { loc = lang }
	const table = V => Object.fromEntries(KEYS.map((k, i) => [k, V[i]]));
	const T = table(V), E = table(EN);
	const nf = new Intl.NumberFormat(loc), pr = new Intl.PluralRules(loc);
	const rtf = new Intl.RelativeTimeFormat(loc, {numeric: 'auto'});
	const dtf = new Intl.DateTimeFormat(loc, {dateStyle: 'long', timeStyle: 'short'});
	const msg = k => T[k] || E[k];
	const t = (k, v = {}) => (msg(k) || k).replace(/\{(\w+)\}/g, (s, p) => p in v ? v[p] : s);
	// btn is a button of class parley-K that runs f, labelled t(k).
	const btn = (k, f, l = k) => h('button', {type: 'button', class: 'parley-' + k, onclick: f}, t(l));
	// tb is t as nodes: each value goes in as a node, strings inside <bdi> so
	// a name in another script doesn't scramble the sentence around it.
	const tb = (k, v) => (msg(k) || k).split(/\{(\w+)\}/).map((p, i) => i % 2 ? (v[p] instanceof Node ? v[p] : h('bdi', null, String(v[p]))) : p);
	const tn = (k, n) => { const f = msg(k); return (f[pr.select(n)] || f.other).replace('{n}', nf.format(n)) };
	const date = s => { const d = new Date(s); return isNaN(d) ? new Date() : d };
	const ago = d => {
		let x = (d - Date.now()) / 6e4;
		if (x > -1) return rtf.format(0, 'second');
		for (const [u, k] of [['minute', 60], ['hour', 24], ['day', 30], ['month', 12], ['year', 1 / 0]]) {
			if (-x < k) return rtf.format(Math.trunc(x), u);
			x /= k;
		}
	};
	const theme = () => {
		if (ds.theme && ds.theme != 'auto') return ds.theme;
		for (let e = host; e; e = e.parentElement) {
			const c = getComputedStyle(e).backgroundColor;
			const n = /^rgba?\(/.test(c) && c.match(/[\d.]+/g);
			if (n && (n.length < 4 || n[3] > .5)) return n[0] * .3 + n[1] * .59 + n[2] * .11 < 128 ? 'dark' : 'light';
		}
		return 'auto';
	};

	let sort = SORTS.includes(ds.sort) ? ds.sort : 'oldest';
	let comments = [], shown = 0, total = 0, maxDepth = 5, closed = false;
	let parent = '', parentLi = null, busy = false, loaded = false, editWindow = 0, es, postKey = '', pinned = '';
	// The logged-in reader (null for a guest), the site's log-in settings,
	// whether Change is open, and the log-in window being waited for.
	let user = tok() && load(UK), L = {providers: []}, open, popup, poll, notifies;
	// A reader logged in by email link still gives a name (and website):
	// the link proved an address, not a name.
	const byEmail = () => user && user.provider == 'email';
	const SP = '/api/v1/sites/' + S;
	const CU = id => SP + '/comments/' + encodeURIComponent(id);
	const likedKey = 'liked:' + site, heldKey = 'held:' + site + ':' + page, mineKey = 'mine:' + site, waitKey = 'wait:' + site;
	const liked = new Set(list(likedKey));
	// The reader's own comments (id, text as typed, when), for Edit and Delete.
	const mine = new Map(list(mineKey).map(m => [m.id, m]));
	const remember = (id, md) => {
		mine.set(id, {id, md, t: (mine.get(id) || {t: Date.now()}).t});
		save(mineKey, [...mine.values()].slice(-200));
	};
	// errText is the message for an error of ask() (or {info}), in the
	// reader's language where we have it. On the way it forgets a reader
	// token or session that the server no longer knows.
	const errText = e => {
		const i = e.info || {};
		forgetReader(e);
		if (i.code == 'not_logged_in') out();
		return msg('error.' + i.code) || i.message || t('error.generic');
	};

	const find = id => root.getElementById('comment-' + id);
	const sr = h('div', {class: 'parley-sr', 'aria-live': 'polite'});
	// say announces a message through the polite live region.
	const say = s => { sr.textContent = ''; setTimeout(() => { sr.textContent = s }, 100) };
	const count = h('h2', {class: 'parley-count'});
	const setCount = n => { count.textContent = n ? tn('count', n) : t('count.none') };
	const sorts = SORTS.map(s => h('button', {type: 'button', onclick: () => { if (s != sort) { sort = s; refresh() } }}, t('sort.' + s)));
	const status = h('p', {class: 'parley-status'}, t('loading'));
	const ol = h('ol', {class: 'parley-list'});
	const moreBtn = h('button', {type: 'button', class: 'parley-more', hidden: true, onclick: () => more(true)}, t('more'));

	// The form. Field ids, names and classes match thread.html.
	const F = {};
	const field = (name, tag, attrs, req, hint) => {
		const id = 'parley-' + name;
		const el = F[name] = h(tag, {id, name, required: req, 'aria-describedby': (hint ? id + '-hint ' : '') + id + '-err', ...attrs});
		el.err = h('span', {id: id + '-err', class: 'parley-err', hidden: true});
		el.req = h('span', {class: 'parley-req'}, t(req ? 'form.required' : 'form.optional'));
		return h('p', {class: 'parley-field parley-field-' + name},
			h('label', {for: id}, t('form.' + name), ' ', el.req),
			hint && h('span', {id: id + '-hint', class: 'parley-hint'}, t(hint)), el, el.err);
	};
	const formErr = h('p', {class: 'parley-form-error', tabindex: -1, hidden: true});
	const submit = h('button', {type: 'submit', class: 'parley-submit'}, t('form.submit'));
	// A logged-in reader's privacy link opens the privacy page with a grant
	// to their data (download, erase) instead: no email round trip.
	const privacy = h('a', {href: BASE + '/sites/' + S + '/privacy?lang=' + lang, onclick: e => user && (e.preventDefault(), ask('POST', '/api/v1/sites/' + S + '/data').then(d => location = d.privacy, () => location = privacy.href))}, t('privacy.link'));
	const heading = h('h3', {id: 'parley-reply-title', class: 'parley-reply-title'}, t('respond'));
	const cancel = h('button', {type: 'button', class: 'parley-cancel', hidden: true, onclick: () => unreply(true)}, t('respond.cancel'));

	// Log-in (above the form, like thread.html): the intro and the choice of
	// providers for a guest; for a logged-in reader who they are, with Log
	// out and Change (which opens the choice again). Messages about logging
	// in go to formErr, just under it.
	const intro = h('p', {class: 'parley-intro'});
	const logoutBtn = h('button', {type: 'button', class: 'parley-logout', onclick: logout}, t('logout'));
	const change = h('button', {type: 'button', class: 'parley-change', onclick: () => { open = !open; show(); open && row.firstChild.focus() }}, t('login.change'));
	const av = h('img', {class: 'parley-avatar', alt: '', width: 40, height: 40}), iam = h('span'), sep = h('span', {hidden: true}, ' / ', change);
	// The name the reader's comments show, in bold: the log-in's, or what
	// a reader logged in by email types as their name.
	const nm = h('strong', {class: 'parley-name', dir: 'auto'});
	// Log out everywhere ends every session of this reader, shown with Change.
	const allBtn = btn('logout-all', () => logout(1, '-all'), 'logout.all');
	const who = h('div', {class: 'parley-user', hidden: true}, av, nm, ' ', iam, ' (', logoutBtn, sep, ') ', allBtn);
	const row = h('div', {class: 'parley-providers', role: 'group', 'aria-label': t('login')});
	const mail = h('input', {id: 'parley-login-email', type: 'email', autocomplete: 'email', dir: 'ltr', 'aria-describedby': 'parley-login-email-err'});
	mail.err = h('span', {id: 'parley-login-email-err', class: 'parley-err', hidden: true});
	const mailForm = h('form', {class: 'parley-email-login', hidden: true, novalidate: true, onsubmit: sendLink},
		h('p', {class: 'parley-field'}, h('label', {for: mail.id}, t('form.email')), mail, mail.err), h('p', null, h('button', {class: 'parley-send'}, t('login.send'))));
	const body = field('body', 'textarea', {rows: 6, maxlength: 20000, dir: 'auto'}, true);
	// "Save my name, email, and website…": unticked unless the reader
	// saved them before (as WordPress since 4.9.6). Ticked, a guest's
	// post keeps them in this page's storage; unticked, they go at once.
	const GK = 'parley:guest', g = load('guest'), rb = h('input', {type: 'checkbox', checked: !!g, onchange: () => rb.checked || store(GK, null)});
	const rbox = h('p', {class: 'parley-remember'}, h('label', null, rb, t('form.remember')));
	const guest = h('div', {class: 'parley-guest'},
		field('email', 'input', {type: 'email', autocomplete: 'email', maxlength: 254, dir: 'ltr'}, true, 'form.email.hint'),
		field('name', 'input', {type: 'text', autocomplete: 'name', maxlength: 100, dir: 'auto', oninput: () => byEmail() && (nm.textContent = F.name.value.trim())}, true),
		field('website', 'input', {type: 'text', inputmode: 'url', autocomplete: 'url', maxlength: 500, dir: 'ltr'}, false), rbox);
	for (const k in g) if (F[k]) F[k].value = g[k];
	// "Notify me of follow-up comments by email", when the server mails.
	const nb = h('input', {type: 'checkbox'});
	const ns = h('select', {'aria-label': t('notify.label')}, ['replies', 'all'].map(v => h('option', {value: v}, t('notify.' + v))));
	const nnote = h('p', {class: 'parley-hint', role: 'status', hidden: true});
	const notifyBox = h('p', {class: 'parley-notify', hidden: true}, h('label', null, nb, t('notify.label')), ' ', ns);
	const respond = h('section', {id: 'respond', class: 'parley-respond', 'aria-labelledby': 'parley-reply-title'},
		h('div', {class: 'parley-respond-head'}, heading, cancel),
		intro, who, row, mailForm,
		h('form', {class: 'parley-form', method: 'post', novalidate: true, onsubmit: post},
			formErr, body, guest, notifyBox, nnote,
			h('p', null, submit),
			h('p', {class: 'parley-privacy'}, tb('privacy', {link: privacy}))));
	const closedMsg = h('p', {class: 'parley-closed', hidden: true}, t('closed'));
	// The article's message to commenters (sanitised HTML from the server),
	// and what became of the reader's held comments.
	const message = h('div', {class: 'parley-message', dir: 'auto', hidden: true});
	const notes = h('div', {class: 'parley-notices', hidden: true});

	const box = h('div', {class: 'parley', lang: loc, dir: RTL.includes(lang) ? 'rtl' : 'ltr', 'data-theme': theme()},
		h('div', {class: 'parley-head'}, count, h('div', {class: 'parley-sort', role: 'group', 'aria-label': t('sort.label')}, sorts)),
		notes, status, ol, moreBtn, message, respond, closedMsg, sr);
	const link = h('link', {rel: 'stylesheet', href: BASE + '__PARLEY_CSS__'});
	const styled = new Promise(r => { link.onload = link.onerror = r });
	// A server-rendered thread stays on show until ours is ready.
	box.hidden = !!pre;
	root.append(link, box);

	// item renders one comment and its replies. Everything the reader typed
	// goes in as text, except html, which the server sanitised. The buttons
	// look their comment up when pressed: update moves them to the li that
	// is on the page.
	function item(c) {
		const a = c.author || {}, name = c.erased ? t('deleted') : a.name || t('anonymous');
		const web = /^https?:\/\//i.test(a.website) && a.website;
		const when = date(c.created);
		const li = h('li', {id: 'comment-' + c.id, class: 'parley-comment' + (c.pending ? ' parley-pending' : '')},
			h('article', {class: 'parley-c'},
				h('header', {class: 'parley-meta'},
					/^https?:\/\//i.test(a.avatar) && h('img', {class: 'parley-avatar', src: a.avatar, alt: '', width: 40, height: 40, loading: 'lazy'}),
					h(web ? 'a' : 'span', {class: 'parley-author', href: web, rel: web && 'nofollow ugc noopener', dir: 'auto'}, name),
					h('a', {class: 'parley-time', href: '#comment-' + c.id}, h('time', {datetime: when.toISOString(), title: dtf.format(when)}, ago(when))),
					c.edited && h('span', {class: 'parley-edited', title: dtf.format(date(c.edited))}, t('edited')),
					c.id == pinned && h('span', {class: 'parley-badge'}, t('pinned')),
					c.featured && h('span', {class: 'parley-badge'}, t('sort.featured'))),
				c.in_reply_to && h('p', {class: 'parley-irt'}, tb('in_reply_to', {name: c.in_reply_to})),
				c.pending && h('p', {class: 'parley-notice'}, t('pending')),
				h('div', {class: 'parley-body', dir: 'auto'}, rich(c.html || '')),
				!c.pending && h('div', {class: 'parley-actions'}, like(c),
					!closed && h('button', {type: 'button', class: 'parley-reply', 'aria-label': t('respond.to', {name}), onclick: () => replyTo(find(c.id), name)}, t('reply')),
					!mine.has(c.id) && h('button', {type: 'button', class: 'parley-report', 'aria-expanded': 'false', onclick: e => report(find(c.id), c, e.currentTarget)}, t('report')),
					mine.has(c.id) && Date.now() - when < editWindow * 1e3 && [
						btn('edit', () => edit(find(c.id), c)),
						btn('delete', () => del(c))])),
			c.replies && c.replies.length ? h('ol', {class: 'parley-replies'}, c.replies.map(item)) : null);
		li.irt = c.in_reply_to;
		return li;
	}

	// report opens (or closes) a small form under a comment: a reason, a
	// line of text, and Send; the reader is thanked in its place.
	function report(li, c, b) {
		const art = li.firstChild, old = art.querySelector('.parley-report-form');
		b.setAttribute('aria-expanded', !old);
		if (old) return old.remove();
		const ta = h('textarea', {rows: 2, maxlength: 500, dir: 'auto'});
		const f = h('form', {class: 'parley-report-form', onsubmit: async e => {
			e.preventDefault();
			try {
				await ask('POST', CU(c.id) + '/report', {reason: f.querySelector(':checked').value, text: ta.value, reader: await reader()});
				f.replaceWith(h('p', {class: 'parley-notice'}, t('report.thanks')));
				b.remove();
				say(t('report.thanks'));
			} catch (x) {
				oops(f, x);
			}
		}}, h('fieldset', null, h('legend', null, t('report.why')),
			['spam', 'abuse', 'off_topic', 'other'].map(k => h('label', null, h('input', {type: 'radio', name: 'r' + c.id, value: k, required: true}), ' ', t('report.' + k)))),
		h('label', null, t('report.text'), ta), h('button', {class: 'parley-send'}, t('report.send')));
		art.append(f);
		f.querySelector('input').focus();
	}

	// oops tells the reader why an action on a comment failed: at el (the
	// edit box, or the comment's buttons) and through the live region.
	function oops(el, e) {
		const s = errText(e);
		if (el) (el.querySelector(':scope>.parley-err') || el.appendChild(h('span', {class: 'parley-err'}))).textContent = s;
		say(s);
	}
	const actions = id => { const li = find(id); return li && li.firstChild.querySelector('.parley-actions') };

	// update shows a changed comment (an edit, a new like count) in place,
	// keeping an open edit box and the focus (on the comment, its edit box
	// or the same button).
	function update(li, c) {
		const old = li.firstChild, a = item({...c, in_reply_to: c.in_reply_to || li.irt, replies: []}).firstChild;
		const f = root.activeElement, ed = old.querySelector('.parley-editing');
		const had = f && old.contains(f);
		if (ed) a.querySelector('.parley-body').replaceWith(ed);
		// A highlighted comment flashes once, not at every change.
		a.style.animation = 'none';
		old.replaceWith(a);
		const g = !had ? null : f == old ? a : a.contains(f) ? f : f.classList[0] && a.querySelector('.' + f.classList[0]);
		if (g) {
			if (g == a) a.tabIndex = -1;
			g.focus({preventScroll: true});
		}
	}

	// edit swaps the comment's text for a box holding what the reader typed.
	function edit(li, c) {
		const body = li.firstChild.querySelector('.parley-body');
		if (!body) return li.firstChild.querySelector('.parley-edit-box').focus();
		const ta = h('textarea', {class: 'parley-edit-box', rows: 4, dir: 'auto', 'aria-label': t('edit')});
		ta.value = mine.get(c.id).md;
		const done = () => box.replaceWith(body);
		const box = h('div', {class: 'parley-editing'}, ta,
			h('button', {type: 'button', class: 'parley-save', onclick: async () => {
				try {
					const r = await ask('PATCH', CU(c.id), {reader: await reader(), body: ta.value});
					remember(c.id, ta.value);
					done();
					// An edit held for moderation stays on show to its
					// author, as a held new comment does (the live removal
					// may have taken it off the page already).
					r.pending = r.status == 'pending';
					if (r.pending) {
						save(heldKey, [...list(heldKey).filter(x => x.c && x.c.id != r.id), {t: Date.now(), c: r}]);
						li = li.isConnected ? li : insert(r);
						li.classList.add('parley-pending');
					}
					update(li, r);
					li.firstChild.tabIndex = -1;
					li.firstChild.focus();
				} catch (e) {
					oops(box, e);
				}
			}}, t('save')),
			h('button', {type: 'button', onclick: done}, t('cancel')));
		body.replaceWith(box);
		ta.focus();
	}

	async function del(c) {
		if (!confirm(t('delete.confirm'))) return;
		try {
			await ask('DELETE', CU(c.id), {reader: await reader()});
			drop(c.id);
			say(t('deleted'));
		} catch (e) {
			oops(actions(c.id), e);
		}
	}

	// drop takes a comment that is no longer visible off the page. Its
	// replies stay, where it was (after a reload, at the top level).
	function drop(id) {
		const li = find(id);
		if (li && !li.classList.contains('parley-pending')) {
			if (li.contains(respond)) unreply();
			li.replaceWith(...li.querySelectorAll(':scope>.parley-replies>li'));
			setCount(--total);
		}
	}

	// live follows the thread's changes as they happen (Server-Sent Events);
	// the browser reconnects and resumes by itself after a lost connection.
	function live(after) {
		if (es || !W.EventSource) return;
		es = new EventSource(BASE + SP + '/stream?page=' + encodeURIComponent(page) + '&after=' + (after || 0));
		es.addEventListener('change', e => {
			let d, li;
			try { d = JSON.parse(e.data) } catch (x) { return }
			if (d.kind == 'page') refresh();
			else if (d.kind == 'new' && sort != 'featured') add(d.comment);
			else if (d.kind == 'update' && (li = find(d.id))) update(li, d.comment);
			else if (d.kind == 'remove') drop(d.id);
		});
		// Changes were missed: reload the thread, then follow it anew.
		es.addEventListener('reset', () => { es.close(); es = null; refresh() });
	}

	function like(c) {
		const n = h('span', {class: 'parley-n'});
		const b = h('button', {type: 'button', class: 'parley-like', onclick: toggle}, t('like'), n);
		const set = b.set = (k, on) => { n.textContent = k ? nf.format(k) : ''; b.setAttribute('aria-pressed', String(!!on)) };
		async function toggle() {
			if (b.busy) return;
			b.busy = true;
			try {
				const on = b.getAttribute('aria-pressed') != 'true';
				const r = await ask(on ? 'POST' : 'DELETE', CU(c.id) + '/like', {reader: await reader()});
				if (r.liked) liked.add(c.id);
				else liked.delete(c.id);
				save(likedKey, [...liked].slice(-1000));
				// A live update may have redrawn the button meanwhile.
				const a = actions(c.id);
				(a && a.querySelector('.parley-like') || b).set(r.likes, r.liked);
			} catch (e) {
				oops(actions(c.id), e);
			}
			b.busy = false;
		}
		set(c.likes, liked.has(c.id));
		return b;
	}

	const focusOn = li => {
		const a = li.firstChild;
		a.tabIndex = -1;
		a.focus({preventScroll: true});
		a.scrollIntoView({block: 'center', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth'});
	};

	// more shows the next page of top-level comments.
	function more(focus) {
		const next = comments.slice(shown, shown += PAGE).map(item);
		ol.append(...next);
		moreBtn.hidden = shown >= comments.length;
		if (focus && next[0]) focusOn(next[0]);
	}

	// go scrolls to and highlights #comment-ID, showing more pages until it is there.
	function go(hash) {
		let id = /^#comment-(.+)$/.exec(hash), li;
		try { id = id && decodeURIComponent(id[1]) } catch (e) { id = null }
		if (!id) return;
		while (!(li = find(id)) && shown < comments.length) more();
		if (li) mark(li);
	}

	// mark highlights a comment, scrolls to it and moves focus there.
	function mark(li) {
		for (const e of root.querySelectorAll('.parley-target')) e.classList.remove('parley-target');
		li.classList.add('parley-target');
		li.firstChild.style.animation = '';
		focusOn(li);
	}

	// insert puts a comment into the rendered thread: under its parent, or at
	// the parent's level with "in reply to NAME" past the maximum depth. It
	// returns the new element, or null if the comment is already shown.
	function insert(c) {
		if (find(c.id)) return null;
		const p = c.parent && find(c.parent);
		let into = ol;
		if (p) {
			let depth = 0;
			for (let e = p; e != box; e = e.parentNode) if (e.tagName == 'LI') depth++;
			if (depth >= maxDepth) {
				into = p.parentNode;
				c.in_reply_to = c.in_reply_to || p.querySelector('.parley-author').textContent;
			} else {
				into = p.querySelector(':scope>.parley-replies') || p.appendChild(h('ol', {class: 'parley-replies'}));
			}
		}
		const li = item(c);
		into == ol && sort == 'newest' ? ol.prepend(li) : into.append(li);
		return li;
	}

	// add merges a comment that arrived while the page is open (live updates)
	// and announces it.
	function add(c) {
		const p = find(c.id);
		if (p && p.classList.contains('parley-pending')) p.remove();
		const li = insert(c);
		if (li) {
			setCount(++total);
			say(t('new_comment', {name: (c.author || {}).name || t('anonymous')}));
		}
		return li;
	}

	function replyTo(li, name) {
		parent = li.id.slice(8);
		parentLi = li;
		heading.replaceChildren(...tb('respond.to', {name}));
		cancel.hidden = false;
		li.firstChild.after(respond);
		F.body.focus();
	}

	function unreply(focus) {
		if (!parentLi) return;
		const b = parentLi.querySelector('.parley-reply');
		parent = '';
		parentLi = null;
		heading.textContent = t('respond');
		cancel.hidden = true;
		closedMsg.before(respond);
		if (focus && b) b.focus();
	}

	// bad marks a field in error, with the message next to it; good clears it.
	const bad = (f, s) => { f.err.textContent = s; f.err.hidden = false; f.setAttribute('aria-invalid', 'true') };
	const good = f => { f.err.hidden = true; f.removeAttribute('aria-invalid') };
	function clearErrors() {
		formErr.hidden = true;
		for (const k in F) good(F[k]);
	}

	// showErrors puts each error next to its field (or above the form),
	// announces them and focuses the first field in error.
	function showErrors(errs) {
		const texts = errs.map(e => {
			const s = errText({info: e}), f = F[e.field];
			f ? bad(f, s) : tell(s);
			return s;
		});
		say(texts.join(' '));
		const first = Object.values(F).find(f => f.hasAttribute('aria-invalid'));
		(first || formErr).focus();
	}

	// show draws the log-in part and the form for the reader (guest or
	// logged in) and the site's guest policy.
	function show() {
		const only = !user && L.guests == 'login';
		intro.textContent = t(only ? 'login.required' : 'form.intro');
		intro.hidden = user || !only && !row.firstChild;
		who.hidden = !user;
		change.setAttribute('aria-expanded', !!open);
		row.hidden = allBtn.hidden = user && !open;
		if (row.hidden) mailForm.hidden = true;
		// The log-in by email asks for the address itself: no second Email
		// field beside it.
		guest.hidden = user && !byEmail() || only || !mailForm.hidden;
		F.email.parentNode.hidden = rbox.hidden = !!user;
		body.hidden = submit.parentNode.hidden = only;
		notifyBox.hidden = !notifies || only;
	}

	// tell shows an error above the form (or hides it) and announces its
	// first part; note shows news there the same way, not as an error.
	function tell(...k) {
		formErr.className = 'parley-form-error';
		formErr.replaceChildren(...k);
		formErr.hidden = !k.length;
		if (k.length) say(formErr.firstChild.textContent);
	}
	const note = (...k) => { tell(...k); formErr.className = 'parley-form-note' };

	// connect opens the provider's log-in in a small window and waits for it
	// to post back a code (see the message listener below) or be closed.
	function connect(p, b) {
		store(PK, Date.now());
		const u = BASE + '/auth/' + p.id + '/start?site=' + S + '&bind=' + KEY + '&lang=' + lang + '&return=' + encodeURIComponent(location.href) + '&mode=';
		stop();
		popup = W.open(u + 'popup', 'parley-login', 'popup,width=520,height=640');
		if (!popup) return tell(t('login.blocked'), ' ', h('a', {href: u + 'redirect'}, t('login.here')));
		note(h('span', {class: 'parley-connecting'}, t('login.connecting', {name: p.name})), ' ',
			btn('stop', () => { stop(1); b.focus() }, 'cancel'));
		// A closed window may have posted its message just before: wait a second.
		let n = 0;
		poll = setInterval(() => { if (popup.closed && ++n > 2) { stop(); tell(t('login.closed')) } }, 500);
	}

	function stop(close) {
		clearInterval(poll);
		if (close) popup.close();
		popup = poll = null;
		tell();
	}

	const redeem = code => ask('POST', '/auth/redeem', {code, bind: KEY}).then(signIn, e => tell(errText(e)));

	// signIn keeps a new session ({token, user}) and logs out the one it
	// replaces.
	function signIn(r) {
		const k = tok();
		if (k && k != r.token) ask('POST', '/auth/logout').catch(() => { });
		store(SK, r.token);
		setUser(r.user, 1);
	}

	function setUser(u, focus) {
		// A reader logged in by email names themselves: the name they last
		// posted with stays with the session here.
		if (u && !u.name && user && user.email == u.email) u.name = user.name;
		save(UK, user = u);
		open = 0;
		tell();
		show();
		if (u) {
			av.src = u.avatar;
			nm.textContent = u.name || '';
			if (byEmail() && !F.name.value) F.name.value = u.name || '';
			iam.replaceChildren(...tb(u.provider == 'email' ? 'login.as_email' : 'login.as', u));
			if (focus) {
				F.body.focus();
				say(iam.textContent);
			}
		}
	}

	const out = () => { store(SK, null); setUser(null) };
	// logout ends the session here and on the server; pressed as a button,
	// it puts the focus on the log-in choice.
	function logout(ev, all = '') {
		ask('POST', '/auth/logout' + all).catch(() => { });
		out();
		if (ev) (row.firstChild || F.body).focus();
	}

	// sendLink asks for a log-in link by email; it brings the reader back
	// here with #parley-login=CODE.
	async function sendLink(ev) {
		ev.preventDefault();
		good(mail);
		try {
			const email = mail.value.trim();
			store(PK, Date.now());
			await ask('POST', SP + '/auth/email', {email, return: location.href, bind: KEY});
			note(h('span', null, tb('login.sent', {email})));
		} catch (e) {
			const s = errText(e);
			if ((e.info || {}).field != 'email') return tell(s);
			bad(mail, s);
			say(s);
			mail.focus();
		}
	}

	async function post(ev) {
		if (ev) ev.preventDefault();
		if (busy) return;
		clearErrors();
		const v = {};
		for (const k in F) v[k] = F[k].value.trim();
		const em = byEmail();
		const missing = (L.guests == 'anonymous' || user && !em ? ['body'] : em ? ['body', 'name'] : ['body', 'email', 'name']).filter(k => !v[k]);
		if (missing.length) return showErrors(missing.map(k => ({field: k, code: 'missing_' + k})));
		busy = submit.disabled = true;
		submit.textContent = t('form.posting');
		// One idempotency key per comment, kept until it is posted: a
		// post sent again after a network failure (below, or by the
		// reader's Retry) is stored once.
		postKey = postKey || [...crypto.getRandomValues(new Uint32Array(4))].map(n => n.toString(36)).join('');
		try {
			// A logged-in reader's name and email come from the session
			// (an email log-in's address only).
			const me = {name: v.name, email: v.email, website: v.website};
			const send = async () => ask('POST', SP + '/comments', {page, url, title, parent, body: F.body.value, reader: await reader(), ...(!user || em) && me, ...nb.checked && {notify: ns.value, lang}}, {'Idempotency-Key': postKey});
			let c, i = 0;
			while (!c) try { c = await send() } catch (e) {
				if (e.status && e.status != 503 || ++i > 2) throw e;
				await new Promise(r => setTimeout(r, 1500 * i));
			}
			postKey = '';
			if (c.notify) nnote.textContent = t('notify.' + c.notify), nnote.hidden = nb.checked = false;
			c.pending = c.status == 'pending';
			remember(c.id, F.body.value);
			if (em) save(UK, user = {...user, name: v.name});
			if (!user) store(GK, rb.checked ? JSON.stringify(me) : null);
			unreply();
			F.body.value = '';
			// The live event may have shown it first, without Edit and Delete.
			let li = find(c.id);
			if (li) update(li, c);
			else {
				if (c.pending) save(heldKey, [...list(heldKey), {t: Date.now(), c}]), save(waitKey, Date.now());
				else setCount(++total);
				li = insert(c);
			}
			say(t(c.pending ? 'pending' : 'posted'));
			mark(li);
		} catch (e) {
			if (e.status) showErrors([e.info]);
			else {
				const retry = btn('retry', post);
				tell(t('error.network'), ' ', retry);
				setTimeout(() => retry.focus());
			}
		} finally {
			busy = submit.disabled = false;
			submit.textContent = t('form.submit');
		}
	}

	// told asks once what became of the reader's held comments (only in a
	// browser that had one held in the last 30 days) and says it above the
	// thread; a comment not published leaves the page.
	async function told() {
		if (!(Date.now() - load(waitKey) < 30 * DAY)) return;
		try {
			const ns = (await ask('POST', SP + '/notices', {reader: await reader()})).notices || [];
			if (!ns.length) return;
			notes.replaceChildren(...ns.map(n => h('p', {class: 'parley-notice'}, n.text)));
			notes.hidden = false;
			say(notes.textContent);
			for (const n of ns) {
				const li = !n.approved && find(n.comment);
				if (li && li.classList.contains('parley-pending')) li.remove();
			}
			save(heldKey, list(heldKey).filter(x => !ns.some(n => !n.approved && n.comment == x.c.id)));
		} catch (e) { }
	}

	function render(d) {
		closed = !!d.closed;
		pinned = d.pinned || '';
		message.replaceChildren(...rich(d.message || ''));
		message.hidden = !d.message;
		sorts[3].hidden = !d.featured && sort != 'featured';
		maxDepth = d.max_depth || 5;
		editWindow = d.edit_window || 0;
		total = d.total || 0;
		comments = d.comments || [];
		if (d.privacy_url) privacy.href = d.privacy_url;
		notifies = !!d.notify;
		if (d.login) {
			L = d.login;
			const choice = (id, name, icon, f) => h('button', {type: 'button', class: 'parley-login', 'data-provider': id, 'aria-label': name, onclick: e => f(e.currentTarget)},
				h('img', {src: icon, alt: '', width: 32, height: 32}));
			row.replaceChildren(...(L.providers || []).map(p => choice(p.id, t('login.with', {name: p.name}), p.icon, b => connect(p, b))),
				L.email ? choice('email', t('login.email'), BASE + '/widget/icons/email.svg', b => {
					b.setAttribute('aria-expanded', mailForm.hidden);
					mailForm.hidden = !mailForm.hidden;
					show();
					mail.focus();
				}) : '');
			sep.hidden = !row.firstChild;
			for (const k of ['email', 'name']) F[k].req.textContent = t((F[k].required = L.guests != 'anonymous') ? 'form.required' : 'form.optional');
			show();
		}
		setCount(total);
		sorts.forEach((b, i) => b.setAttribute('aria-pressed', String(SORTS[i] == sort)));
		unreply();
		ol.replaceChildren();
		shown = 0;
		more();
		// The reader's held comments stay on show until they are in the thread
		// (approved) or a week has passed.
		const ids = new Set();
		const walk = cs => cs.forEach(c => { ids.add(c.id); walk(c.replies || []) });
		walk(comments);
		const held = list(heldKey).filter(x => x && x.c && !ids.has(x.c.id) && Date.now() - x.t < 7 * DAY);
		save(heldKey, held);
		held.forEach(x => insert({...x.c, pending: true}));
		respond.hidden = closed;
		closedMsg.hidden = !closed;
		status.hidden = true;
		if (box.hidden) {
			box.hidden = false;
			// Off go the server-rendered thread and its anchors beside the root.
			root.replaceChildren(link, box);
			host.replaceChildren();
		}
		// Only the first render follows #comment-ID; later ones (a new sort)
		// leave focus where the reader is.
		live(d.last_event);
		if (!loaded) {
			go(location.hash);
			told();
			if (ret) {
				respond.scrollIntoView({block: 'center'});
				if (user) F.body.focus({preventScroll: true});
			}
		}
		loaded = true;
	}

	async function refresh() {
		status.replaceChildren(t('loading'));
		status.hidden = false;
		try {
			const [d] = await Promise.all([ask('GET', SP + '/comments?page=' + encodeURIComponent(page) + '&sort=' + sort), styled]);
			render(d);
		} catch (e) {
			// With a server-rendered thread on show, keep it: it works without us.
			status.replaceChildren(t('error.load'), ' ', btn('retry', refresh));
		}
	}

	// Permalinks: the browser can't find ids inside a shadow root, so we scroll.
	box.addEventListener('click', e => {
		const a = e.target.closest('.parley-time');
		if (!a || e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
		e.preventDefault();
		history.pushState(null, '', a.hash);
		go(a.hash);
	});
	W.addEventListener('hashchange', () => go(location.hash));
	setInterval(() => { for (const e of root.querySelectorAll('time')) e.textContent = ago(date(e.dateTime)) }, 6e4);

	// The session: a log-in this tab came back with; else the site's own
	// account (data-sso); else the stored token, which we confirm.
	const ret = back, sso = ds.sso, check = () => ask('GET', SP + '/me').then(r => setUser(r.user), errText);
	back = null;
	setUser(user);
	// A log-in error is shown only to a browser that started a log-in in
	// the last 15 minutes: anyone can put words in a link's fragment.
	const started = Date.now() - store(PK) < 9e5;
	store(PK, null);
	if (ret) ret[1] ? started && tell(ret[2]) : redeem(ret[2]);
	// A token logs in once, so sections sharing one share its exchange; one
	// already used (a reload) leaves the session it started.
	else if (sso) (ssos[SP + sso] = ssos[SP + sso] || ask('POST', SP + '/auth/sso', {token: sso})).then(signIn, check);
	else if (sso == '' && user && user.provider == 'sso-' + site) logout();
	else if (tok()) check();
	W.addEventListener('message', e => {
		const d = e.data;
		if (poll && e.origin == ORIGIN && d && d.parley == 'login') {
			stop();
			d.code ? redeem(d.code) : tell(d.error);
		}
	});

	refresh();
	return {add, refresh};
}

W.Parley = {mount};
const start = () => D.querySelectorAll('#parley[data-site],[data-parley][data-site]').forEach(mount);
if (D.readyState == 'loading') D.addEventListener('DOMContentLoaded', start);
else start();
})();
