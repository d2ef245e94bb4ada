/**
 * Properties of lib/vod-event.ts over arbitrary input: on any JSON, any payload under a known EventType or any
 * fixture with one value replaced it throws nothing but VodEventError; the de-dupe key depends neither on key
 * order, null-vs-missing nor delivery fields, and tells partial updates apart.
 */
import fc from 'fast-check';
import {
  IGNORED_EVENT_TYPES,
  VodEventError,
  eventDedupeKey,
  parsePullEventsResponse,
  parseVodEvent,
  summariseProcessing,
} from '#lib/vod-event';
import { EVENT_FIXTURES, fixture } from '../support/vod-event-fixtures';

/** Every path to a value inside `value`. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const here = [prefix];
  if (Array.isArray(value)) return here.concat(value.flatMap((v, i) => pathsOf(v, [...prefix, i])));
  if (value !== null && typeof value === 'object')
    return here.concat(Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k])));
  return here;
}

function replaceAt(value: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? replaceAt(v, rest, replacement) : v));
  const record = value as Record<string, unknown>;
  return { ...record, [String(head)]: replaceAt(record[String(head)], rest, replacement) };
}

/** A deep copy with every object's keys in an order drawn from `seed`. */
function shuffledKeys(value: unknown, seed: number): unknown {
  let state = seed >>> 0 || 1;
  const next = () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
      }
      return Object.fromEntries(entries.map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(value);
}

/** Drops the null members chosen by `drop` (called once per null member, in document order). */
function dropSomeNulls(value: unknown, drop: () => boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => dropSomeNulls(v, drop));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => !(v === null && drop()))
        .map(([k, v]) => [k, dropSomeNulls(v, drop)]),
    );
  }
  return value;
}

function throwsOnlyVodEventErrors(run: () => unknown): boolean {
  try {
    run();
    return true;
  } catch (error) {
    return error instanceof VodEventError;
  }
}

const ALL_FIXTURES = [...EVENT_FIXTURES, 'pull-events.tccli.json', 'pull-events.mixed.json'].map((name) => ({
  name,
  body: fixture(name),
}));
const EVENTS = EVENT_FIXTURES.map((name) => fixture(name));

describe('properties', () => {
  test('parseVodEvent on arbitrary JSON throws nothing but VodEventError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => throwsOnlyVodEventErrors(() => parseVodEvent(value))),
      { numRuns: 500 },
    );
  });

  test('…including arbitrary payloads under every known EventType', () => {
    const eventType = fc.constantFrom(
      'NewFileUpload',
      'ProcedureStateChanged',
      'FileDeleted',
      ...IGNORED_EVENT_TYPES,
      'Brand_New',
    );
    const payloadField = fc.constantFrom('FileUploadEvent', 'ProcedureStateChangeEvent', 'FileDeleteEvent', 'Other');
    fc.assert(
      fc.property(eventType, payloadField, fc.jsonValue(), (EventType, field, payload) =>
        throwsOnlyVodEventErrors(() => parseVodEvent({ EventType, [field]: payload })),
      ),
      { numRuns: 500 },
    );
  });

  test('…and fixtures with any one value replaced by arbitrary JSON', () => {
    const mutated = fc
      .constantFrom(...ALL_FIXTURES)
      .chain(({ name, body }) =>
        fc.tuple(fc.constant(name), fc.constant(body), fc.constantFrom(...pathsOf(body)), fc.jsonValue()),
      );
    fc.assert(
      fc.property(mutated, ([name, body, path, replacement]) => {
        const input = replaceAt(body, path, replacement);
        if (name.startsWith('pull-events')) {
          return throwsOnlyVodEventErrors(() => {
            for (const entry of parsePullEventsResponse(input).events) if (entry.ok) eventDedupeKey(entry.event);
          });
        }
        return throwsOnlyVodEventErrors(() => {
          const event = parseVodEvent(input);
          eventDedupeKey(event);
          if (event.kind === 'ProcedureStateChanged') summariseProcessing(event);
        });
      }),
      { numRuns: 1000 },
    );
  });

  test('the de-dupe key and the event do not depend on key order or null-vs-missing', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EVENTS), fc.integer(), fc.array(fc.boolean(), { minLength: 1 }), (body, seed, choices) => {
        let i = 0;
        const drop = () => choices[i++ % choices.length]!;
        const original = parseVodEvent(body);
        const variant = parseVodEvent(dropSomeNulls(shuffledKeys(body, seed), drop));
        expect(eventDedupeKey(variant)).toBe(eventDedupeKey(original));
        expect(variant).toEqual(original);
      }),
      { numRuns: 300 },
    );
  });

  test('the de-dupe key ignores delivery fields: EventHandle, Sign and T', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EVENTS), fc.string(), fc.string(), fc.nat(), (body, handle, sign, t) => {
        const redelivered = { ...body, EventHandle: `h${handle}`, Sign: sign, T: t };
        expect(eventDedupeKey(parseVodEvent(redelivered))).toBe(eventDedupeKey(parseVodEvent(body)));
      }),
      { numRuns: 200 },
    );
  });

  test('two different partial updates of a task never share a key', () => {
    const base = fixture('procedure-state-changed.change-1.push.json');
    const withProgress = (progress: number) =>
      replaceAt(base, ['ProcedureStateChangeEvent', 'MediaProcessResultSet', 0, 'TranscodeTask', 'Progress'], progress);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), (a, b) => {
        fc.pre(a !== b);
        expect(eventDedupeKey(parseVodEvent(withProgress(a)))).not.toBe(eventDedupeKey(parseVodEvent(withProgress(b))));
      }),
    );
  });
});
