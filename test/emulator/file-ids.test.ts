/**
 * File ids: 19-digit decimal strings whose every digit is drawn, never a float rounded to a run of
 * trailing zeros; the ones VOD hands out through the official SDK have the same form.
 */
import fs from 'node:fs';
import { firstFileId, StateStore } from '../../local/emulator/state.ts';
import { startTestEmulator, tempDir, uploadViaApi, vodClient } from './helpers';

test('first ids: 19 digits, low digits spread like random ones (no zero padding)', () => {
  const ids = Array.from({ length: 400 }, firstFileId);
  expect(ids.every((id) => /^[1-9]\d{18}$/.test(id))).toBe(true);
  // A random id ends in "00" one time in a hundred; the old float-built ids always ended in "000".
  expect(ids.filter((id) => id.endsWith('00')).length).toBeLessThan(20);
  expect(new Set(ids.map((id) => id.slice(-3))).size).toBeGreaterThan(300);
});

test('allocated ids increase, stay 19 digits and survive a restart', () => {
  const dir = tempDir('vod-emulator-ids-');
  try {
    const store = new StateStore(dir);
    const ids = Array.from({ length: 50 }, () => store.allocateFileId());
    store.save();
    expect(ids.every((id) => /^\d{19}$/.test(id))).toBe(true);
    expect(ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1]!))).toBe(true);
    expect(BigInt(new StateStore(dir).allocateFileId())).toBeGreaterThan(BigInt(ids.at(-1)!));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the FileId CommitUpload returns through the SDK is such an id', async () => {
  const t = await startTestEmulator();
  try {
    const client = vodClient(t.emulator);
    const fileId = await uploadViaApi(t, client, 'ids');
    expect(fileId).toMatch(/^\d{19}$/);
    expect((await client.DescribeMediaInfos({ FileIds: [fileId] })).MediaInfoSet![0]!.FileId).toBe(fileId);
  } finally {
    await t.close();
  }
});
