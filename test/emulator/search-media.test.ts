/** SearchMedia through the official SDK: creation-time window, sort, paging, filters. */
import { startTestEmulator, uploadViaApi, vodClient, type TestEmulator } from './helpers';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
}, 30_000);
afterAll(() => t.close());

test('lists media created in a window, oldest first, page by page, with their source context', async () => {
  const client = vodClient(t.emulator);
  const before = new Date(t.clock.now() - 1000).toISOString();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    ids.push(await uploadViaApi(t, client, `uploadId=00000000-0000-4000-8000-00000000000${i}`));
    t.clock.advance(2000);
  }
  const all = await client.SearchMedia({
    CreateTime: { After: before },
    Sort: { Field: 'CreateTime', Order: 'Asc' },
    Filters: ['basicInfo'],
    Limit: 50,
  });
  expect(all.TotalCount).toBe(3);
  expect(all.MediaInfoSet!.map((m) => m.FileId)).toEqual(ids);
  expect(all.MediaInfoSet![1]!.BasicInfo!.SourceInfo!.SourceContext).toBe('uploadId=00000000-0000-4000-8000-000000000001');
  expect(all.MediaInfoSet![0]!.MetaData).toBeNull();

  const page = await client.SearchMedia({
    CreateTime: { After: before },
    Sort: { Field: 'CreateTime', Order: 'Asc' },
    Offset: 1,
    Limit: 1,
  });
  expect(page.MediaInfoSet!.map((m) => m.FileId)).toEqual([ids[1]]);
  const newest = await client.SearchMedia({ Limit: 1 });
  expect(newest.MediaInfoSet!.map((m) => m.FileId)).toEqual([ids[2]]);
  const later = await client.SearchMedia({ CreateTime: { After: new Date(t.clock.now() + 60_000).toISOString() } });
  expect(later.MediaInfoSet).toEqual([]);
  await expect(client.SearchMedia({ Offset: 4990, Limit: 20 })).rejects.toMatchObject({ code: 'InvalidParameterValue.Limit' });
}, 30_000);
