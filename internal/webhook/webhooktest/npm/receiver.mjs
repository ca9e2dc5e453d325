// A webhook receiver that checks every delivery with the published
// Standard Webhooks library (npm "standardwebhooks"), as a site's
// receiver would. It prints one JSON line per request: what it verified,
// or why it refused. PORT (0: any) and WEBHOOK_SECRET come from the
// environment; the first line says the port.
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

const wh = new Webhook(process.env.WEBHOOK_SECRET);
const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', c => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks).toString('utf8');
		const headers = {
			'webhook-id': req.headers['webhook-id'] || '',
			'webhook-timestamp': req.headers['webhook-timestamp'] || '',
			'webhook-signature': req.headers['webhook-signature'] || '',
		};
		let out;
		try {
			const p = wh.verify(body, headers);
			out = {ok: true, id: headers['webhook-id'], type: p.type, comment: p.data && p.data.id, status: p.data && p.data.status,
				email: p.data && p.data.author && p.data.author.email || '', text: p.data && p.data.text || '',
				page: p.data && p.data.page && p.data.page.key || '', action: p.data && p.data.action || ''};
			res.writeHead(204);
			res.end();
		} catch (e) {
			out = {ok: false, id: headers['webhook-id'], error: String(e && e.message || e)};
			res.writeHead(400, {'content-type': 'text/plain'});
			res.end('signature not valid: ' + out.error);
		}
		process.stdout.write(JSON.stringify(out) + '\n');
	});
});
server.keepAliveTimeout = 30000;
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
	process.stdout.write(JSON.stringify({listening: server.address().port}) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
