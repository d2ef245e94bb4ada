/**
 * Event notifications: PUSH delivery (body shape, Sign/T, retries on timeouts and connection failures only) and the PULL queue (long
 * poll, at most 16 per pull, redelivery after 30 s and retention measured on the emulator's clock).
 */
import { createHash } from 'node:crypto';
import { startReceiver, startTestEmulator, uploadViaApi, vodClient } from './helpers';
import type { Receiver, TestEmulator, VodClient } from './helpers';

describe('PUSH delivery', () => {
  let t: TestEmulator;
  let receiver: Receiver;
  let client: VodClient;
  beforeEach(async () => {
    t = await startTestEmulator({ events: { pushTimeoutMs: 300, pushRetryDelayMs: 20, pullWaitMs: 200 } });
    receiver = await startReceiver();
    client = vodClient(t.emulator);
  });
  afterEach(async () => {
    await t.close();
    await receiver.close();
  });

  test('no NewFileUpload while UploadMediaCompleteEventSwitch is OFF (the VOD default)', async () => {
    await client.ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: receiver.url });
    await uploadViaApi(t, client);
    await t.emulator.flush();
    expect(receiver.bodies).toEqual([]);
  });

  test('NewFileUpload and FileDeleted arrive as v3 JSON without nulls or EventHandle, signed with Sign/T', async () => {
    await client.ModifyEventConfig({
      Mode: 'PUSH',
      NotificationUrl: receiver.url,
      UploadMediaCompleteEventSwitch: 'ON',
      DeleteMediaCompleteEventSwitch: 'ON',
      SignKey: 'callbackKey42',
    });
    const fileId = await uploadViaApi(t, client, 'upload-7');
    await t.emulator.flush();
    expect(receiver.bodies).toHaveLength(1);
    const body = receiver.bodies[0]!;
    expect(body.EventType).toBe('NewFileUpload');
    expect(body).not.toHaveProperty('EventHandle');
    expect(body).not.toHaveProperty('ProcedureStateChangeEvent');
    expect(JSON.stringify(body)).not.toContain('null');
    expect(body.FileUploadEvent).toMatchObject({
      FileId: fileId,
      MediaBasicInfo: { Name: 'clip', Type: 'mp4', SourceInfo: { SourceType: 'Upload', SourceContext: 'upload-7' } },
      MetaData: { Width: 320, Height: 240 },
      ProcedureTaskId: '',
    });
    const nowSeconds = Math.floor(t.clock.now() / 1000);
    expect(body.T).toBeGreaterThanOrEqual(nowSeconds + 599);
    expect(body.T).toBeLessThanOrEqual(nowSeconds + 600);
    expect(body.Sign).toBe(createHash('md5').update(`callbackKey42${body.T}`).digest('hex'));

    await client.DeleteMedia({ FileId: fileId });
    await t.emulator.flush();
    expect(receiver.bodies[1]).toMatchObject({ EventType: 'FileDeleted', FileDeleteEvent: { FileIdSet: [fileId] } });
  });

  test('any answer is a delivery, 5xx included (VOD ignores the status): no retry', async () => {
    await client.ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: receiver.url, UploadMediaCompleteEventSwitch: 'ON' });
    const attempts: number[] = [];
    t.emulator.events.on('push', (a) => attempts.push(a.status ?? 0));
    for (const status of [503, 500, 404]) {
      receiver.respond = () => status;
      await uploadViaApi(t, client);
      await t.emulator.flush();
    }
    expect(attempts).toEqual([503, 500, 404]);
    expect(t.emulator.context.store.doc.pushOutbox).toHaveLength(0);
  });

  test('a receiver that cannot be reached gets 2 retries (3 attempts in all)', async () => {
    const gone = receiver.url;
    await receiver.close();
    await client.ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: gone, UploadMediaCompleteEventSwitch: 'ON' });
    const attempts: { status?: number; error?: string }[] = [];
    t.emulator.events.on('push', (a) => attempts.push({ status: a.status, error: a.error }));
    await uploadViaApi(t, client);
    await t.emulator.flush();
    expect(attempts).toHaveLength(3);
    expect(attempts.every((a) => a.status === undefined && a.error)).toBe(true);
    receiver = await startReceiver();
  });

  test('a receiver that does not answer within the timeout counts as a failure and is retried', async () => {
    await client.ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: receiver.url, UploadMediaCompleteEventSwitch: 'ON' });
    receiver.respond = (n) => (n === 1 ? 'hang' : 200);
    const attempts: { status?: number; error?: string }[] = [];
    t.emulator.events.on('push', (a) => attempts.push({ status: a.status, error: a.error }));
    const started = Date.now();
    await uploadViaApi(t, client);
    await t.emulator.flush();
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.error).toMatch(/Timeout|abort/i);
    expect(attempts[1]!.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  test('pending PUSH deliveries survive a restart', async () => {
    await client.ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: receiver.url, UploadMediaCompleteEventSwitch: 'ON' });
    t.emulator.setFaults({ push: { delayMs: 60_000 } });
    const fileId = await uploadViaApi(t, client);
    expect(t.emulator.context.store.doc.pushOutbox).toHaveLength(1);
    const emulator = await t.restart(); // starts without faults: the delivery goes out now
    await new Promise((resolve) => setTimeout(resolve, 100));
    await emulator.flush();
    expect(receiver.bodies.map((b) => b.FileUploadEvent.FileId)).toEqual([fileId]);
    expect(emulator.context.store.doc.pushOutbox).toHaveLength(0);
  });
});

test('closing during a PUSH retry pause does not hang, and the delivery resumes after a restart', async () => {
  const t2 = await startTestEmulator({ events: { pushRetryDelayMs: 60_000, pushTimeoutMs: 300, pullWaitMs: 100 } });
  const receiver = await startReceiver();
  try {
    const client = vodClient(t2.emulator);
    await client.ModifyEventConfig({ Mode: 'PUSH', NotificationUrl: receiver.url, UploadMediaCompleteEventSwitch: 'ON' });
    receiver.respond = (n) => (n === 1 ? 'hang' : 200);
    let attempts = 0;
    t2.emulator.events.on('push', () => attempts++);
    const fileId = await uploadViaApi(t2, client);
    while (attempts === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    const emulator = await t2.restart(); // the first attempt timed out; the retry was 60 s away
    expect(Date.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await emulator.flush();
    expect(receiver.bodies.map((b) => b.FileUploadEvent.FileId)).toEqual([fileId, fileId]);
    expect(emulator.context.store.doc.pushOutbox).toHaveLength(0);
  } finally {
    await t2.close();
    await receiver.close();
  }
});

describe('PULL queue', () => {
  let t: TestEmulator;
  let client: VodClient;
  beforeEach(async () => {
    t = await startTestEmulator({ events: { pullWaitMs: 1500 } });
    client = vodClient(t.emulator);
    await client.ModifyEventConfig({ Mode: 'PULL', UploadMediaCompleteEventSwitch: 'ON', DeleteMediaCompleteEventSwitch: 'ON' });
  });
  afterEach(() => t.close());

  test('an empty queue holds PullEvents for the long-poll time, then answers EventSet null', async () => {
    const started = Date.now();
    const r = await client.PullEvents({});
    expect(r.EventSet).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  test('a waiting PullEvents returns as soon as an event is produced', async () => {
    const pending = client.PullEvents({});
    await new Promise((resolve) => setTimeout(resolve, 100));
    const fileId = await uploadViaApi(t, client);
    const started = Date.now();
    const r = await pending;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(r.EventSet!.map((e) => e.FileUploadEvent!.FileId)).toEqual([fileId]);
  });

  test('unconfirmed events come back after 30 s on the clock with a new handle; the old handle is refused', async () => {
    const fileId = await uploadViaApi(t, client);
    const first = (await client.PullEvents({})).EventSet![0]!;
    t.clock.advance(25_000); // (the long poll below lasts 1.5 s of real, and so of clock, time)
    expect((await client.PullEvents({})).EventSet).toBeNull(); // still handed out
    t.clock.advance(5_000);
    const again = (await client.PullEvents({})).EventSet![0]!;
    expect(again.FileUploadEvent!.FileId).toBe(fileId);
    expect(again.EventHandle).not.toBe(first.EventHandle);
    await expect(client.ConfirmEvents({ EventHandles: [first.EventHandle!] })).rejects.toMatchObject({
      code: 'InvalidParameterValue',
    });
    await client.ConfirmEvents({ EventHandles: [again.EventHandle!] });
    t.clock.advance(31_000);
    expect((await client.PullEvents({})).EventSet).toBeNull();
  });

  test('a confirmation later than 30 s is refused and the event is delivered again', async () => {
    await uploadViaApi(t, client);
    const first = (await client.PullEvents({})).EventSet![0]!;
    t.clock.advance(31_000);
    await expect(client.ConfirmEvents({ EventHandles: [first.EventHandle!] })).rejects.toMatchObject({
      code: 'InvalidParameterValue',
    });
    expect((await client.PullEvents({})).EventSet).toHaveLength(1);
  });

  test('at most 16 events per PullEvents; events older than 4 days are dropped', async () => {
    const hub = t.emulator.events;
    for (let i = 0; i < 20; i++) hub.emitVodEvent(t.emulator.appId, 'FileDeleted', 'FileDeleteEvent', { FileIdSet: [`id-${i}`] });
    const first = (await client.PullEvents({})).EventSet!;
    expect(first).toHaveLength(16);
    const second = (await client.PullEvents({})).EventSet!;
    expect(second).toHaveLength(4);
    expect(new Set([...first, ...second].map((e) => e.FileDeleteEvent!.FileIdSet![0])).size).toBe(20);
    await expect(client.ConfirmEvents({ EventHandles: first.map((e) => e.EventHandle!).concat('x') })).rejects.toMatchObject({
      code: 'InvalidParameterValue',
    });

    // 4 days on: the API would refuse the SDK's (real-time) timestamp, so ask the queue directly.
    t.clock.advance(4 * 24 * 3600_000 + 1000);
    expect(await hub.pull(t.emulator.appId)).toEqual([]);
    expect(t.emulator.context.store.doc.events).toHaveLength(0);
  });
});
