/**
 * The review decision. Nothing here can judge content, so the emulator decides by rules the test or the
 * operator of the local stack sets (docs/vod-protocol/review.md): the first rule whose conditions all hold
 * gives the verdict, and with none matching the verdict is `default` (`pass` unless configured).
 *
 *   { "rules": [
 *       { "name": "^nsfw", "suggestion": "block", "label": "Porn", "form": "Image" },
 *       { "colour": "#ff0000", "tolerance": 40, "suggestion": "review", "label": "Terror", "delayMs": 500 },
 *       { "content": "Cover", "colour": "#000000", "suggestion": "block", "label": "Ad", "form": "OCR" },
 *       { "fileId": "5285890000000000001", "errCodeExt": "InternalError", "message": "review failed" } ],
 *     "default": "pass", "delayMs": 0, "definitions": [10] }
 *
 * Conditions: `name` (a case-insensitive regular expression over the media's name), `fileId`, `colour`
 * (`#rrggbb`: the mean colour of the media's middle frame, or of the cover image, each channel within
 * `tolerance`, default 32). A rule judges `content` `Media` (the default) or `Cover`. `errCodeExt` makes the
 * task fail instead. `delayMs` holds the verdict back (real ms), so a test can order review and processing.
 */
import { REVIEW_CONTENTS, REVIEW_PRESET_DEFINITION, REVIEW_SUGGESTIONS } from '#contract';
import type { ReviewContent, ReviewSuggestion } from '#contract';

export interface ReviewRule {
  content: ReviewContent;
  name?: RegExp;
  fileId?: string;
  colour?: [number, number, number];
  tolerance: number;
  suggestion: ReviewSuggestion;
  label: string;
  form: string;
  subLabel: string;
  confidence: number;
  errCodeExt?: string;
  message?: string;
  delayMs?: number;
}

export interface ReviewRules {
  rules: ReviewRule[];
  default: ReviewSuggestion;
  delayMs: number;
  /** Review template ids that exist; another `Definition` fails its task with `InvalidInput.DefinitionNotExist`. */
  definitions: number[];
}

/** What the media or the cover looks like to the rules. */
export interface ReviewSubject {
  content: ReviewContent;
  fileId: string;
  name: string;
  /** Computed only when a rule asks (ffmpeg); undefined when it cannot be read. */
  colour: () => Promise<[number, number, number] | undefined>;
}

export const DEFAULT_RULES: ReviewRules = { rules: [], default: 'pass', delayMs: 0, definitions: [REVIEW_PRESET_DEFINITION] };

const RULE_FIELDS = new Set([
  'content',
  'name',
  'fileId',
  'colour',
  'tolerance',
  'suggestion',
  'label',
  'form',
  'subLabel',
  'confidence',
  'errCodeExt',
  'message',
  'delayMs',
]);
const TOP_FIELDS = new Set(['rules', 'default', 'delayMs', 'definitions']);

class RulesError extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalText(raw: Record<string, unknown>, field: string, at: string, max = 200): string | undefined {
  const v = raw[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max)
    throw new RulesError(`${at}.${field} must be a string of at most ${max} characters`);
  return v;
}

function delay(v: unknown, at: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 600_000)
    throw new RulesError(`${at} must be an integer number of ms from 0 to 600000`);
  return v;
}

function suggestion(v: unknown, at: string): ReviewSuggestion {
  if (!(REVIEW_SUGGESTIONS as readonly unknown[]).includes(v))
    throw new RulesError(`${at} must be one of ${REVIEW_SUGGESTIONS.join(', ')}`);
  return v as ReviewSuggestion;
}

export function parseColour(v: unknown, at: string): [number, number, number] {
  const m = typeof v === 'string' ? /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(v) : null;
  if (!m) throw new RulesError(`${at} must be a colour #rrggbb`);
  return [Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16), Number.parseInt(m[3]!, 16)];
}

function parseRule(raw: unknown, at: string): ReviewRule {
  if (!isRecord(raw)) throw new RulesError(`${at} must be an object`);
  const unknown = Object.keys(raw).find((k) => !RULE_FIELDS.has(k));
  if (unknown) throw new RulesError(`${at}.${unknown} is not a rule field (${[...RULE_FIELDS].join(', ')})`);
  const content = raw.content ?? 'Media';
  if (!(REVIEW_CONTENTS as readonly unknown[]).includes(content))
    throw new RulesError(`${at}.content must be one of ${REVIEW_CONTENTS.join(', ')}`);
  const pattern = optionalText(raw, 'name', at);
  let name: RegExp | undefined;
  try {
    name = pattern === undefined ? undefined : new RegExp(pattern, 'i');
  } catch {
    throw new RulesError(`${at}.name must be a regular expression`);
  }
  const tolerance = raw.tolerance ?? 32;
  if (typeof tolerance !== 'number' || tolerance < 0 || tolerance > 255)
    throw new RulesError(`${at}.tolerance must be a number from 0 to 255`);
  const confidence = raw.confidence ?? 99;
  if (typeof confidence !== 'number' || confidence < 0 || confidence > 100)
    throw new RulesError(`${at}.confidence must be a number from 0 to 100`);
  const errCodeExt = optionalText(raw, 'errCodeExt', at);
  if (errCodeExt === undefined && raw.suggestion === undefined) throw new RulesError(`${at} needs a suggestion or an errCodeExt`);
  return {
    content: content as ReviewContent,
    name,
    fileId: optionalText(raw, 'fileId', at),
    colour: raw.colour === undefined ? undefined : parseColour(raw.colour, `${at}.colour`),
    tolerance,
    suggestion: raw.suggestion === undefined ? 'pass' : suggestion(raw.suggestion, `${at}.suggestion`),
    label: optionalText(raw, 'label', at) ?? '',
    form: optionalText(raw, 'form', at) ?? '',
    subLabel: optionalText(raw, 'subLabel', at) ?? '',
    confidence,
    errCodeExt,
    message: optionalText(raw, 'message', at, 1000),
    delayMs: delay(raw.delayMs, `${at}.delayMs`),
  };
}

/** Reads a rules document (JSON already decoded); throws an Error naming the bad field. */
export function parseReviewRules(raw: unknown): ReviewRules {
  if (!isRecord(raw)) throw new RulesError('review rules must be a JSON object');
  const unknown = Object.keys(raw).find((k) => !TOP_FIELDS.has(k));
  if (unknown) throw new RulesError(`${unknown} is not a review rules field (${[...TOP_FIELDS].join(', ')})`);
  const rules = raw.rules ?? [];
  if (!Array.isArray(rules) || rules.length > 100) throw new RulesError('rules must be an array of at most 100 rules');
  const definitions = raw.definitions ?? DEFAULT_RULES.definitions;
  if (!Array.isArray(definitions) || definitions.some((d) => !Number.isInteger(d)))
    throw new RulesError('definitions must be an array of integers');
  return {
    rules: rules.map((r, i) => parseRule(r, `rules[${i}]`)),
    default: raw.default === undefined ? 'pass' : suggestion(raw.default, 'default'),
    delayMs: delay(raw.delayMs, 'delayMs') ?? 0,
    definitions: definitions as number[],
  };
}

/** The JSON form of parsed rules (what `GET /__admin/review-rules` answers, and what state.json keeps). */
export function reviewRulesJson(rules: ReviewRules): Record<string, unknown> {
  const hex = (c: [number, number, number]) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  return {
    rules: rules.rules.map((r) => ({
      content: r.content,
      ...(r.name ? { name: r.name.source } : {}),
      ...(r.fileId ? { fileId: r.fileId } : {}),
      ...(r.colour ? { colour: hex(r.colour), tolerance: r.tolerance } : {}),
      ...(r.errCodeExt ? { errCodeExt: r.errCodeExt, message: r.message } : { suggestion: r.suggestion }),
      label: r.label,
      form: r.form,
      subLabel: r.subLabel,
      confidence: r.confidence,
      ...(r.delayMs === undefined ? {} : { delayMs: r.delayMs }),
    })),
    default: rules.default,
    delayMs: rules.delayMs,
    definitions: rules.definitions,
  };
}

/** The first rule for this content whose every condition holds, or undefined (then `default` applies). */
export async function matchRule(rules: ReviewRules, subject: ReviewSubject): Promise<ReviewRule | undefined> {
  for (const rule of rules.rules) {
    if (rule.content !== subject.content) continue;
    if (rule.fileId !== undefined && rule.fileId !== subject.fileId) continue;
    if (rule.name && !rule.name.test(subject.name)) continue;
    if (rule.colour) {
      const seen = await subject.colour();
      if (!seen || seen.some((v, i) => Math.abs(v - rule.colour![i]!) > rule.tolerance)) continue;
    }
    return rule;
  }
  return undefined;
}
