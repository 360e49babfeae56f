/** The alert webhook, called by the worker on a real HTTP server on 127.0.0.1. */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { RigAlert } from './alerts.js';
import { callWebhook } from './webhook.js';

const alert: RigAlert = { kind: 'offline', rig: '0x2222222222222222222222222222222222222222', name: 'garage', title: 'garage is offline', message: 'garage has not been heard from for 2 minutes.' };

async function serve(status: number): Promise<{ url: string; got: Array<{ req: IncomingMessage; body: string }>; close(): Promise<void> }> {
  const got: Array<{ req: IncomingMessage; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      got.push({ req, body });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, close: () => new Promise((r) => server.close(() => r())) };
}

describe('the alert webhook', () => {
  it('posts the alert as JSON that chat webhooks and push services read', async () => {
    const s = await serve(200);
    try {
      await callWebhook(s.url, alert);
      assert.equal(s.got.length, 1);
      const { req, body } = s.got[0]!;
      assert.equal(req.method, 'POST');
      assert.equal(req.headers['content-type'], 'application/json');
      assert.equal(req.headers.title, 'garage is offline');
      const json = JSON.parse(body) as Record<string, string>;
      assert.equal(json.text, 'garage is offline: garage has not been heard from for 2 minutes.');
      assert.equal(json.content, json.text);
      assert.equal(json.alert, 'offline');
      assert.equal(json.rig, alert.rig);
    } finally {
      await s.close();
    }
  });

  it('fails, saying why, when the webhook refuses', async () => {
    const s = await serve(404);
    try {
      await assert.rejects(callWebhook(s.url, alert), /answered 404/);
    } finally {
      await s.close();
    }
  });
});
