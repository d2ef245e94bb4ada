/**
 * The VOD event fixtures (test/fixtures/events, from docs/vod-protocol/events.md and this backend's own uploads)
 * and readers that parse one as a given kind, for the suites of lib/vod-event.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  parseVodEvent,
  VodEventError,
  type FileDeletedEvent,
  type NewFileUploadEvent,
  type ProcedureStateChangedEvent,
  type VodEvent,
} from '#lib/vod-event';

const FIXTURES = join(__dirname, '..', 'fixtures', 'events');
export const fixtureText = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
export const fixture = (name: string) => JSON.parse(fixtureText(name)) as Record<string, unknown>;
/** Every single-event fixture (the PullEvents answers are not events). */
export const EVENT_FIXTURES = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && !f.startsWith('pull-events'));

export function parseAs<K extends VodEvent['kind']>(kind: K, input: unknown): Extract<VodEvent, { kind: K }> {
  const event = parseVodEvent(input);
  expect(event.kind).toBe(kind);
  return event as Extract<VodEvent, { kind: K }>;
}
export const upload = (name: string) => parseAs('NewFileUpload', fixture(name)) as NewFileUploadEvent;
export const procedure = (name: string) => parseAs('ProcedureStateChanged', fixture(name)) as ProcedureStateChangedEvent;
export const deletion = (name: string) => parseAs('FileDeleted', fixture(name)) as FileDeletedEvent;

/** The ids our own fixtures (upload, procedure task, file) carry. */
export const UPLOAD_ID = 'upl_01JDQ7Z3W5K6M2N8P4R9T0V1X2';
export const OUR_TASK = '1500012345-procedurev2-9a4c0e7f1b2d3e4f5a6b7c8d9e0f1a2bt0';
export const OUR_FILE = '3270835010452376512';

/** The VodEventError that parsing `input` throws (a test fails if it throws nothing, or something else). */
export function rejection(input: unknown): VodEventError {
  try {
    parseVodEvent(input);
  } catch (error) {
    expect(error).toBeInstanceOf(VodEventError);
    return error as VodEventError;
  }
  throw new Error('expected parseVodEvent to throw a VodEventError');
}

/** Null members dropped: the PUSH form of a PULL entry. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, withoutNulls(v)]),
    );
  }
  return value;
}
