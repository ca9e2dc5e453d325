// Runs real published Akismet clients against a Parley server and prints
// one JSON object saying what each client reported. TestRealClients in
// ../../clients_test.go runs it; by hand:
//
//	PARLEY_KEY_CEDX=... PARLEY_KEY_AKISMET=... PARLEY_KEY_AKISMET_API=... \
//	    node clients.mjs http://127.0.0.1:8080
//
// Each client gets its own site's key (PARLEY_KEY is the fallback), so
// what one client teaches does not change another's answers. A step that
// throws is reported as {"error": "..."}; the script itself always exits 0
// once it has printed its results, and the Go test judges them.
import dns from "node:dns";
import { Author, Blog, Client, CheckResult, Comment } from "@cedx/akismet";
import akismet from "akismet";
import akismetApi from "akismet-api";

const base = new URL(process.argv[2] ?? process.env.PARLEY_URL ?? "http://127.0.0.1:8080");
const keyFor = name => process.env[`PARLEY_KEY_${name}`] ?? process.env.PARLEY_KEY ?? "";
const port = Number(base.port || 80);

// The clients that put the key in the host name call KEY.akismet.test.
// Resolve that name (and akismet.test) to the loopback address Parley
// listens on, instead of needing /etc/hosts entries. Node's net module
// reads dns.lookup when it connects, so patching it here is enough.
const realLookup = dns.lookup;
dns.lookup = function (hostname, options, callback) {
	if (typeof options == "function") [callback, options] = [options, {}];
	if (typeof options == "number") options = { family: options };
	if (/(^|\.)akismet\.test$/i.test(hostname)) {
		const address = base.hostname;
		return options?.all
			? process.nextTick(callback, null, [{ address, family: 4 }])
			: process.nextTick(callback, null, address, 4);
	}
	return realLookup.call(this, hostname, options, callback);
};

// Texts, as the Go test expects the built-in model to judge them.
const texts = {
	ham: "I disagree with the council's decision, but the article explains both sides fairly.",
	ham2: "The bakery on Main Street reopens next week with the same sourdough recipe.",
	held: "Thanks for sharing, I will check out the new library hours on their website.",
	blatant: "Check out my channel!!! Subscribe to me and win a FREE iPhone, click here http://bit.ly/free-iphone",
	missed: "Our school's robotics team meets on Thursdays in the library, new members welcome.",
	testOnly: "Wonderful coverage of the harvest festival, my grandmother loved the photos of the parade."
};
const blogUrl = "https://blog.example/";
const permalink = "https://blog.example/2026/11/buses";
const userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

// step runs one call with a time limit and records its outcome.
async function step(fn) {
	let timer;
	try {
		const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("timed out")), 15_000); });
		return await Promise.race([fn(), timeout]);
	} catch (err) {
		return { error: String(err?.message ?? err) };
	} finally {
		clearTimeout(timer);
	}
}

// callback turns a Node-style callback API into a promise.
const callback = fn => new Promise((resolve, reject) => fn((err, value) => err ? reject(err) : resolve(value === undefined ? "ok" : value)));

const verdict = r => ({ [CheckResult.ham]: "ham", [CheckResult.spam]: "spam", [CheckResult.pervasiveSpam]: "pervasiveSpam" })[r] ?? r;

// @cedx/akismet: base URL configurable, key in the body as api_key.
async function cedx() {
	const key = keyFor("CEDX");
	const blog = new Blog({ url: blogUrl, charset: "UTF-8", languages: ["en", "fr"] });
	const live = new Client(key, blog, { baseUrl: base.href });
	const test = new Client(key, blog, { baseUrl: base.href, isTest: true });
	const comment = (content, author = {}) => new Comment({
		author: new Author({ ipAddress: "192.0.2.1", name: "Noor", email: "noor@example.org", userAgent, url: "https://noor.example", ...author }),
		content, context: ["news", "buses"], date: new Date(), permalink, type: "comment"
	});
	return {
		verifyKey: await step(() => live.verifyKey()),
		verifyBadKey: await step(() => new Client("0123456789abcdef", blog, { baseUrl: base.href }).verifyKey()),
		ham: await step(async () => verdict(await test.checkComment(comment(texts.ham)))),
		held: await step(async () => verdict(await test.checkComment(comment(texts.held, { ipAddress: "192.0.2.2" })))),
		testTrigger: await step(async () => verdict(await test.checkComment(comment(texts.ham2, { name: "viagra-test-123", ipAddress: "192.0.2.3" })))),
		blatant: await step(async () => verdict(await test.checkComment(comment(texts.blatant, { ipAddress: "192.0.2.4" })))),
		admin: await step(async () => verdict(await test.checkComment(comment(texts.blatant, { role: "administrator", ipAddress: "192.0.2.5" })))),
		badKeyCheck: await step(async () => verdict(await new Client("nope", blog, { baseUrl: base.href }).checkComment(comment(texts.ham)))),
		submitTest: await step(async () => { await test.submitSpam(comment(texts.testOnly, { ipAddress: "192.0.2.6" })); return "ok"; }),
		submitSpam: await step(async () => { await live.submitSpam(comment(texts.missed, { ipAddress: "192.0.2.7" })); return "ok"; }),
		submitHam: await step(async () => { await live.submitHam(comment(texts.held, { ipAddress: "192.0.2.2" })); return "ok"; })
	};
}

// akismet (oozcitak): host, endPoint and port configurable. Pointed at
// 127.0.0.1 the key goes nowhere, so it is passed as api_key with each
// call; pointed at akismet.test, the key is the host name's first label.
async function akismetNpm() {
	const key = keyFor("AKISMET");
	const direct = akismet.client({ blog: blogUrl, apiKey: key, host: base.hostname, endPoint: base.hostname, port });
	const inHost = akismet.client({ blog: blogUrl, apiKey: key, host: "akismet.test", port });
	const badHost = akismet.client({ blog: blogUrl, apiKey: "nope", host: "akismet.test", port });
	const fields = (content, extra = {}) => ({
		api_key: key, user_ip: "192.0.2.11", user_agent: userAgent, referrer: "https://search.example/",
		permalink, comment_type: "comment", comment_author: "Noor", comment_author_email: "noor@example.org",
		comment_content: content, is_test: 1, ...extra
	});
	const hostFields = (content, extra) => { const f = fields(content, extra); delete f.api_key; return f; };
	return {
		verifyKey: await step(() => callback(cb => direct.verifyKey(cb))),
		verifyBadKey: await step(() => callback(cb => akismet.client({ blog: blogUrl, apiKey: "nope", host: base.hostname, port }).verifyKey(cb))),
		ham: await step(() => callback(cb => direct.checkComment(fields(texts.ham), cb))),
		held: await step(() => callback(cb => direct.checkComment(fields(texts.held, { user_ip: "192.0.2.12" }), cb))),
		testTrigger: await step(() => callback(cb => direct.checkComment(fields(texts.ham2, { comment_author: "viagra-test-123", user_ip: "192.0.2.13" }), cb))),
		blatant: await step(() => callback(cb => direct.checkComment(fields(texts.blatant, { user_ip: "192.0.2.14" }), cb))),
		admin: await step(() => callback(cb => direct.checkComment(fields(texts.blatant, { user_role: "administrator", user_ip: "192.0.2.15" }), cb))),
		badKeyCheck: await step(() => callback(cb => direct.checkComment(fields(texts.ham, { api_key: "nope" }), cb))),
		submitTest: await step(() => callback(cb => direct.submitSpam(fields(texts.testOnly, { user_ip: "192.0.2.16" }), cb))),
		submitSpam: await step(() => callback(cb => direct.submitSpam(fields(texts.missed, { user_ip: "192.0.2.17", is_test: 0 }), cb))),
		submitHam: await step(() => callback(cb => direct.submitHam(fields(texts.held, { user_ip: "192.0.2.12", is_test: 0 }), cb))),
		hostVerifyKey: await step(() => callback(cb => inHost.verifyKey(cb))),
		hostTestTrigger: await step(() => callback(cb => inHost.checkComment(hostFields(texts.ham2, { comment_author_email: "akismet-guaranteed-spam@example.com", user_ip: "192.0.2.18" }), cb))),
		hostHam: await step(() => callback(cb => inHost.checkComment(hostFields(texts.ham2, { user_ip: "192.0.2.19" }), cb))),
		hostBadKeyCheck: await step(() => callback(cb => badHost.checkComment(hostFields(texts.blatant, { comment_author: "viagra-test-123" }), cb)))
	};
}

// akismet-api: verify-key at http://akismet.test:PORT with the key in the
// body; every other call at http://KEY.akismet.test:PORT, the key only in
// the host name, as WordPress's older plugin sends it.
async function akismetApiNpm() {
	const key = keyFor("AKISMET_API");
	const opts = { blog: blogUrl, host: `akismet.test:${port}`, protocol: "http", lang: "en", charset: "UTF-8" };
	const client = new akismetApi.AkismetClient({ ...opts, key });
	const bad = new akismetApi.AkismetClient({ ...opts, key: "nope" });
	const comment = (content, extra = {}) => ({
		ip: "192.0.2.21", useragent: userAgent, referrer: "https://search.example/", permalink, type: "comment",
		name: "Noor", email: "noor@example.org", url: "https://noor.example", content, date: new Date().toISOString(),
		isTest: true, ...extra
	});
	return {
		verifyKey: await step(() => client.verifyKey()),
		verifyBadKey: await step(() => bad.verifyKey()),
		ham: await step(() => client.checkSpam(comment(texts.ham))),
		held: await step(() => client.checkSpam(comment(texts.held, { ip: "192.0.2.22" }))),
		testTrigger: await step(() => client.checkSpam(comment(texts.ham2, { name: "viagra-test-123", ip: "192.0.2.23" }))),
		blatant: await step(() => client.checkSpam(comment(texts.blatant, { ip: "192.0.2.24" }))),
		admin: await step(() => client.checkSpam(comment(texts.blatant, { role: "administrator", ip: "192.0.2.25" }))),
		honeypot: await step(() => client.checkSpam(comment(texts.testOnly, { honeypot: "https://cheap.example", ip: "192.0.2.26" }))),
		badKeyCheck: await step(() => bad.checkSpam(comment(texts.ham))),
		submitTest: await step(async () => { await client.submitSpam(comment(texts.testOnly, { ip: "192.0.2.27" })); return "ok"; }),
		submitSpam: await step(async () => { await client.submitSpam(comment(texts.missed, { ip: "192.0.2.28", isTest: undefined })); return "ok"; }),
		submitHam: await step(async () => { await client.submitHam(comment(texts.held, { ip: "192.0.2.22", isTest: undefined })); return "ok"; })
	};
}

const results = { texts };
results.cedx = await step(cedx);
results.akismet = await step(akismetNpm);
results.akismetApi = await step(akismetApiNpm);
process.stdout.write(JSON.stringify(results, null, 1) + "\n");
