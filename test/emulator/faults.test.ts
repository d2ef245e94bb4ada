/**
 * Fault injection: API calls failing with InternalError or timing out (set through the admin endpoint
 * and seen by the official SDK), and PUSH deliveries dropped, duplicated, delayed and reordered, all of
 * them or only those of some EventTypes.
 */
import { startReceiver, startTestEmulator, ugc, uploadSignature, vodClient } from './helpers';
import type { Receiver, TestEmulator } from './helpers';

let t: TestEmulator;
beforeEach(async () => {
  t = await startTestEmulator({ events: { pushRetryDelayMs: 20, pullWaitMs: 100 } });
});
afterEach(() => t.close());

async function admin(body: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${t.emulator.url}/__admin/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

describe('API faults', () => {
  test('POST /__admin/faults makes chosen actions fail with InternalError; {} clears it', async () => {
    const client = vodClient(t.emulator);
    const set = await admin({ api: { internalErrorRate: 1, actions: ['DescribeEventConfig', 'ApplyUploadUGC'] } });
    expect(set.status).toBe(200);
    expect(((await (await fetch(`${t.emulator.url}/__admin/faults`)).json()) as any).api.internalErrorRate).toBe(1);

    await expect(client.DescribeEventConfig({})).rejects.toMatchObject({ code: 'InternalError', requestId: expect.any(String) });
    await expect(client.PullEvents({})).resolves.toBeDefined(); // not listed
    const applied = await ugc(t.emulator, 'ApplyUploadUGC', { signature: uploadSignature(t.clock), videoType: 'mp4' });
    expect(applied.code).toBe(10001);

    expect((await admin({})).status).toBe(200);
    await expect(client.DescribeEventConfig({})).resolves.toMatchObject({ Mode: 'PUSH' });
    expect((await ugc(t.emulator, 'ApplyUploadUGC', { signature: uploadSignature(t.clock), videoType: 'mp4' })).code).toBe(0);
  });

  test('invalid fault configurations are refused with 400', async () => {
    expect((await admin({ api: { internalErrorRate: 2 } })).status).toBe(400);
    expect((await admin({ push: { explode: true } })).status).toBe(400);
  });

  test('push.eventTypes: a list of EventType names, else 400 naming the field; nothing changes', async () => {
    expect((await admin({ push: { dropRate: 1, eventTypes: ['ReviewAudioVideoComplete'] } })).json).toEqual({
      push: { dropRate: 1, eventTypes: ['ReviewAudioVideoComplete'] },
    });
    for (const eventTypes of [[], 'ReviewAudioVideoComplete', [''], ['Review Audio'], [42]]) {
      const refused = await admin({ push: { dropRate: 1, eventTypes } });
      expect(refused.status).toBe(400);
      expect(refused.json.error).toMatchObject({ code: 'InvalidFaults', message: expect.stringContaining('eventTypes') });
    }
    expect(t.emulator.getFaults().push?.eventTypes).toEqual(['ReviewAudioVideoComplete']);
  });

  test('a timed-out call is never answered: the SDK gives up after its own timeout', async () => {
    t.emulator.setFaults({ api: { timeoutRate: 1, timeoutMs: 5000, actions: ['DescribeMediaInfos'] } });
    const impatient = vodClient(t.emulator, undefined, 1);
    const started = Date.now();
    const error = await impatient.DescribeMediaInfos({ FileIds: ['1'] }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeDefined();
    expect(String(error?.message)).toMatch(/timeout|abort|socket hang up/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  test('a rate below 1 fails a reproducible share of calls (seeded)', async () => {
    const client = vodClient(t.emulator);
    const run = async () => {
      t.emulator.setFaults({ seed: 7, api: { internalErrorRate: 0.5 } });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 30; i++)
        outcomes.push(
          await client.DescribeEventConfig({}).then(
            () => true,
            () => false,
          ),
        );
      return outcomes;
    };
    const first = await run();
    const failures = first.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(5);
    expect(failures).toBeLessThan(25);
    expect(await run()).toEqual(first);
  });
});

describe('PUSH faults', () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await startReceiver();
    await vodClient(t.emulator).ModifyEventConfig({
      Mode: 'PUSH',
      NotificationUrl: receiver.url,
      DeleteMediaCompleteEventSwitch: 'ON',
    });
  });
  afterEach(() => receiver.close());

  const emit = (id: string) =>
    t.emulator.events.emitVodEvent(t.emulator.appId, 'FileDeleted', 'FileDeleteEvent', { FileIdSet: [id] });
  const received = () => receiver.bodies.map((b) => b.FileDeleteEvent.FileIdSet[0] as string);

  test('drop: the callback is never sent', async () => {
    t.emulator.setFaults({ push: { dropRate: 1 } });
    const dropped: string[] = [];
    t.emulator.events.on('pushDropped', (d) => dropped.push(d.eventId));
    emit('a');
    await t.emulator.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received()).toEqual([]);
    expect(dropped).toHaveLength(1);
    expect(t.emulator.context.store.doc.pushOutbox).toHaveLength(0);
  });

  test('duplicate: the same callback arrives twice', async () => {
    t.emulator.setFaults({ push: { duplicateRate: 1 } });
    emit('a');
    await t.emulator.flush();
    expect(received()).toEqual(['a', 'a']);
  });

  test('delay: the callback arrives after the delay', async () => {
    t.emulator.setFaults({ push: { delayMs: 400 } });
    const started = Date.now();
    emit('a');
    while (receiver.bodies.length === 0 && Date.now() - started < 3000) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received()).toEqual(['a']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
  });

  test('reorder: a held-back callback is sent after its successor', async () => {
    t.emulator.setFaults({ push: { reorderRate: 1, reorderWindowMs: 2000 } });
    emit('first');
    await new Promise((resolve) => setTimeout(resolve, 50));
    emit('second');
    await t.emulator.flush();
    expect(received()).toEqual(['second', 'first']);
  });

  const review = (id: string) =>
    t.emulator.events.emitVodEvent(t.emulator.appId, 'ReviewAudioVideoComplete', 'ReviewAudioVideoCompleteEvent', {
      TaskId: id,
    });
  const receivedAll = () =>
    receiver.bodies.map((b) =>
      b.EventType === 'FileDeleted' ? b.FileDeleteEvent.FileIdSet[0] : b.ReviewAudioVideoCompleteEvent.TaskId,
    );

  test('eventTypes: only callbacks of the listed EventTypes are dropped', async () => {
    t.emulator.setFaults({ push: { dropRate: 1, eventTypes: ['ReviewAudioVideoComplete'] } });
    const dropped: string[] = [];
    t.emulator.events.on('pushDropped', (d) => dropped.push(d.eventId));
    emit('a');
    review('review-1');
    emit('b');
    review('review-2');
    await t.emulator.flush();
    expect(receivedAll()).toEqual(['a', 'b']);
    expect(dropped).toHaveLength(2);
  });

  test('eventTypes: duplicates and delays hit the listed EventTypes only', async () => {
    t.emulator.setFaults({ push: { duplicateRate: 1, delayMs: 1500, eventTypes: ['ReviewAudioVideoComplete'] } });
    const started = Date.now();
    review('review-1');
    emit('a');
    while (receiver.bodies.length === 0 && Date.now() - started < 3000) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(receivedAll()).toEqual(['a']);
    expect(Date.now() - started).toBeLessThan(1200);
    // `flush()` does not wait for a delay that has not started its delivery yet.
    while (receiver.bodies.length < 3 && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
    await t.emulator.flush();
    expect(receivedAll()).toEqual(['a', 'review-1', 'review-1']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1490);
  });

  test('eventTypes: other callbacks draw nothing from the seeded sequence', async () => {
    const deliveredDeletes = async (withReviews: boolean) => {
      receiver.bodies.length = 0;
      t.emulator.setFaults({ seed: 11, push: { dropRate: 0.5, eventTypes: ['FileDeleted'] } });
      for (let i = 0; i < 20; i++) {
        if (withReviews) review(`r${i}`);
        emit(`d${i}`);
      }
      await t.emulator.flush();
      return receivedAll().filter((id) => id.startsWith('d'));
    };
    const alone = await deliveredDeletes(false);
    expect(alone.length).toBeGreaterThan(3);
    expect(alone.length).toBeLessThan(17);
    expect(await deliveredDeletes(true)).toEqual(alone);
    expect(receivedAll().filter((id) => id.startsWith('r'))).toHaveLength(20);
  });

  test('reorder: without a successor the held callback still goes out after the window', async () => {
    t.emulator.setFaults({ push: { reorderRate: 1, reorderWindowMs: 100 } });
    emit('only');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await t.emulator.flush();
    expect(received()).toEqual(['only']);
  });
});
