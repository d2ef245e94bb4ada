/**
 * Every text the wire readers give out can be stored in PostgreSQL (text and jsonb): U+0000 and unpaired
 * surrogates become U+FFFD where the event is parsed, on every path — PUSH, PULL, and events built from
 * API answers — and any other text is kept as it is.
 */
import fc from 'fast-check';
import {
  newFileUploadFromMediaInfo,
  parsePullEventsResponse,
  parseVodEvent,
  procedureStateChangedFromTaskDetail,
  type NewFileUploadEvent,
} from '#lib/vod-event';
import { newFileUploadBody, procedureBody } from '../support/events';

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Every string anywhere in `value`. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

function uploadWithName(name: string, tag = name) {
  const body = newFileUploadBody({ fileId: '5285890784300000001', uploadId: '0b5f1f3e-8c55-4c55-9d7e-3a1e0f9c2b11' });
  Object.assign(body.FileUploadEvent.MediaBasicInfo, { Name: name, Description: name, TagSet: [tag], ClassName: name });
  return body;
}

test('any name: the parsed event holds only storable text, and a storable name is kept exactly', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (name) => {
      const event = parseVodEvent(uploadWithName(name)) as NewFileUploadEvent;
      for (const s of strings(event)) expect(s).not.toMatch(UNSTORABLE);
      expect((event.media.name ?? '').length).toBe(name.length);
      if (!UNSTORABLE.test(name)) expect(event.media.name ?? '').toBe(name);
    }),
  );
});

test('U+0000 and each unpaired surrogate become U+FFFD; a surrogate pair is kept', () => {
  const event = parseVodEvent(uploadWithName('a\u0000b\ud800c\udc00d\ud83d\ude00e\udbff')) as NewFileUploadEvent;
  expect(event.media.name).toBe('a\uFFFDb\uFFFDc\uFFFDd\ud83d\ude00e\uFFFD');
  expect(event.media.tagSet).toEqual([event.media.name]);
});

test('a pulled event is made storable by the same readers', () => {
  const pulled = parsePullEventsResponse({
    Response: { EventSet: [{ EventHandle: 'h1', ...uploadWithName('x\u0000\udfff') }], RequestId: 'r' },
  });
  const [entry] = pulled.events;
  expect(entry!.ok).toBe(true);
  const event = (entry as { event: NewFileUploadEvent }).event;
  expect(event.media.name).toBe('x\uFFFD\uFFFD');
  for (const s of strings(event)) expect(s).not.toMatch(UNSTORABLE);
});

test('events built from API answers are made storable too', () => {
  const { FileUploadEvent: upload } = uploadWithName('api\u0000\ud800');
  const fromMedia = newFileUploadFromMediaInfo({
    FileId: upload.FileId,
    BasicInfo: upload.MediaBasicInfo,
    MetaData: upload.MetaData,
  } as never);
  expect(fromMedia.media.name).toBe('api\uFFFD\uFFFD');

  const task = procedureBody({
    taskId: 'proc-1',
    fileId: '5285890784300000002',
    status: 'FINISH',
    transcode: 'FAIL',
  }).ProcedureStateChangeEvent;
  Object.assign(task, { FileName: 'f\u0000', Message: 'm\ud800' });
  const fromTask = procedureStateChangedFromTaskDetail({
    TaskType: 'Procedure',
    Status: 'FINISH',
    ProcedureTask: task,
  } as never)!;
  expect(fromTask).toMatchObject({ fileName: 'f\uFFFD', message: 'm\uFFFD' });
  for (const s of strings(fromTask)) expect(s).not.toMatch(UNSTORABLE);
});
