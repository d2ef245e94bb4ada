/**
 * The webhooks the local stack's own receiver got (GET /local/webhooks, local/webhook-receiver.ts), shown
 * below the demo page so a newcomer sees them arrive: type, upload, sequence, whether the signature held.
 * Hidden when the stack sends its webhooks elsewhere.
 */
interface ReceivedWebhook {
  webhookId: string;
  type?: string;
  uploadId?: string;
  sequence?: number;
  receivedAt: string;
  verified: boolean;
}

const section = document.createElement('section');
section.id = 'webhook-log';
section.hidden = true;
const heading = document.createElement('h2');
heading.style.fontSize = '1.1rem';
heading.textContent = 'Webhooks the app server received';
const list = document.createElement('ol');
list.className = 'muted';
section.append(heading, list);
document.body.append(section);

async function refresh(): Promise<void> {
  try {
    const answer = await fetch('/local/webhooks', { cache: 'no-store' });
    if (!answer.ok) return;
    const { webhooks } = (await answer.json()) as { webhooks: ReceivedWebhook[] };
    section.hidden = webhooks.length === 0;
    list.replaceChildren(
      ...webhooks.slice(0, 30).map((w) => {
        const item = document.createElement('li');
        const time = new Date(w.receivedAt).toLocaleTimeString();
        item.textContent = `${time} ${w.type ?? '?'} #${w.sequence ?? '?'} ${w.uploadId ?? ''} ${w.verified ? '✓ signature verified' : '✗ signature refused'}`;
        return item;
      }),
    );
  } catch {
    // The stack is restarting: try again on the next tick.
  }
}

void refresh();
setInterval(() => void refresh(), 2000);
