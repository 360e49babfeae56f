/**
 * The owner's alert webhook (the `rigAlertWebhook` setting): a phone push service such as ntfy, or a
 * chat's incoming webhook. Called by this worker, never by the hub. One JSON body serves the
 * common ones: `text` (Slack, Mattermost, Google Chat), `content` (Discord), `title` and `message`.
 */
import type { RigAlert } from './alerts.js';

export const WEBHOOK_TIMEOUT_MS = 10_000;

export async function callWebhook(url: string, alert: RigAlert, fetchImpl: typeof fetch = fetch): Promise<void> {
  const text = `${alert.title}: ${alert.message}`;
  const res = await fetchImpl(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', title: alert.title.replace(/[^\x20-\x7e]/g, '?') },
    body: JSON.stringify({ text, content: text, title: alert.title, message: alert.message, rig: alert.rig, name: alert.name, alert: alert.kind }),
    signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    redirect: 'error',
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`the webhook answered ${res.status}`);
}
