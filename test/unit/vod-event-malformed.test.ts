/**
 * Malformed VOD events (docs/vod-protocol/events.md) are rejected by lib/vod-event.ts with a VodEventError naming
 * the path of the bad field: a domain error, which the HTTP adapter, not the event model, makes a 400.
 */
import { HttpError, InvalidInputError } from '#lib/errors';
import { VodEventError, parseVodEventJson } from '#lib/vod-event';
import { rejection } from '../support/vod-event-fixtures';

describe('malformed events are rejected with the path of the bad field', () => {
  const transcodeEvent = (task: Record<string, unknown> | null, type = 'Transcode') => ({
    EventType: 'ProcedureStateChanged',
    ProcedureStateChangeEvent: {
      TaskId: 't-1',
      Status: 'FINISH',
      FileId: '123',
      MediaProcessResultSet: [{ Type: type, TranscodeTask: task }],
    },
  });
  const goodTask = { Status: 'SUCCESS', Input: { Definition: 100030 }, Output: { Url: 'https://example.com/v.mp4' } };

  test.each([null, [], 'text', 42, true])('not a JSON object: %p', (input) => {
    expect(rejection(input).message).toMatch(/must be a JSON object/);
  });

  test.each([
    ['missing EventType', {}, 'EventType'],
    ['EventType not a string', { EventType: 7 }, 'EventType'],
    ['EventType with odd characters', { EventType: 'New File' }, 'EventType'],
    ['NewFileUpload without its payload', { EventType: 'NewFileUpload', FileUploadEvent: null }, 'FileUploadEvent'],
    [
      'FileId as a number (digits already lost)',
      // biome-ignore lint/correctness/noPrecisionLoss: a FileId sent as a JSON number loses digits; that is the case under test
      { EventType: 'NewFileUpload', FileUploadEvent: { FileId: 5285890784273533167 } },
      'FileUploadEvent.FileId',
    ],
    ['FileId with a slash', { EventType: 'NewFileUpload', FileUploadEvent: { FileId: '../etc' } }, 'FileUploadEvent.FileId'],
    [
      'SourceContext not a string',
      { EventType: 'NewFileUpload', FileUploadEvent: { FileId: '1', MediaBasicInfo: { SourceInfo: { SourceContext: 5 } } } },
      'FileUploadEvent.MediaBasicInfo.SourceInfo.SourceContext',
    ],
    [
      'unknown procedure Status',
      { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { TaskId: 't', Status: 'DONE', FileId: '1' } },
      'ProcedureStateChangeEvent.Status',
    ],
    [
      'missing TaskId',
      { EventType: 'ProcedureStateChanged', ProcedureStateChangeEvent: { Status: 'FINISH', FileId: '1' } },
      'ProcedureStateChangeEvent.TaskId',
    ],
    [
      'result without Type',
      {
        EventType: 'ProcedureStateChanged',
        ProcedureStateChangeEvent: { TaskId: 't', Status: 'FINISH', FileId: '1', MediaProcessResultSet: [{}] },
      },
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].Type',
    ],
    [
      'Type Transcode without TranscodeTask',
      transcodeEvent(null),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask',
    ],
    [
      'unknown subtask Status',
      transcodeEvent({ ...goodTask, Status: 'OK' }),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Status',
    ],
    [
      'a script URL',
      transcodeEvent({ ...goodTask, Output: { Url: 'javascript:alert(1)' } }),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Output.Url',
    ],
    [
      'a size that is not a number',
      transcodeEvent({ ...goodTask, Output: { Url: 'https://e.com/v.mp4', Size: 'big' } }),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Output.Size',
    ],
    [
      'a numeric string too long to be a finite number',
      transcodeEvent({ ...goodTask, Output: { Url: 'https://e.com/v.mp4', Size: '9'.repeat(400) } }),
      'ProcedureStateChangeEvent.MediaProcessResultSet[0].TranscodeTask.Output.Size',
    ],
    ['FileDeleted naming no file', { EventType: 'FileDeleted', FileDeleteEvent: { FileIdSet: [] } }, 'FileDeleteEvent.FileIdSet'],
    [
      'FileDeleted with a bad id',
      { EventType: 'FileDeleted', FileDeleteEvent: { FileIdSet: ['ok', 'not ok'] } },
      'FileDeleteEvent.FileIdSet[1]',
    ],
  ])('%s', (_, input, field) => {
    const error = rejection(input);
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.code).toBe('InvalidVodEvent');
    // A domain error: the HTTP adapter, not the event model, makes it a 400.
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).not.toBeInstanceOf(HttpError);
  });

  test('a body that is not JSON', () => {
    expect(() => parseVodEventJson('{"EventType": ')).toThrow(/not valid JSON/);
    expect(() => parseVodEventJson(new TextEncoder().encode('<xml/>'))).toThrow(VodEventError);
  });

  test('cyclic input is a VodEventError, not a stack overflow', () => {
    const cyclic: Record<string, unknown> = { EventType: 'SomethingNew' };
    cyclic.self = cyclic;
    expect(rejection(cyclic).message).toMatch(/nested too deeply/);
  });
});
