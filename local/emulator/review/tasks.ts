/**
 * Review tasks (docs/vod-protocol/review.md): kept in state.json beside the processing tasks, run off the
 * request path (WAITING → PROCESSING → FINISH), each ending in one `ReviewAudioVideoComplete` event whose
 * payload is the task's `ReviewAudioVideoTask` view, the same object DescribeTaskDetail shows. A task in
 * flight when the emulator stops runs again on the next start; its verdict is a pure function of the rules
 * and the media, so it comes out the same.
 */
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { ReviewContent, ReviewSuggestion } from '#contract';
import { REVIEW_SUGGESTIONS } from '#contract';
import type { EmulatorContext } from '../context.ts';
import { ffmpegPath } from '../ffmpeg.ts';
import { sleep } from '../sleep.ts';
import { objectIndexKey } from '../state.ts';
import type { MediaRecord, StateDocument } from '../state.ts';
import { isoTime } from '../times.ts';
import { meanColour } from './colour.ts';
import { DEFAULT_RULES, matchRule, parseReviewRules, reviewRulesJson } from './rules.ts';
import type { ReviewRule, ReviewRules } from './rules.ts';

export interface ReviewTaskRecord {
  taskId: string;
  appId: number;
  fileId: string;
  definition: number;
  contents: ReviewContent[];
  priority: number;
  sessionId: string;
  sessionContext: string;
  status: 'WAITING' | 'PROCESSING' | 'FINISH';
  /** From the processing tasks' counter: DescribeTasks lists both kinds in one order. */
  seq: number;
  createdAt: number;
  beginAt?: number;
  finishAt?: number;
  errCodeExt: string;
  message: string;
  output: Record<string, unknown> | null;
}

/** What review adds to state.json (absent in state files written before it). */
interface ReviewState {
  reviewTasks?: Record<string, ReviewTaskRecord>;
  /** The rules set through `POST /__admin/review-rules` (JSON form). */
  reviewRules?: Record<string, unknown>;
}

const reviewState = (doc: StateDocument) => doc as StateDocument & ReviewState;

export function reviewTasks(doc: StateDocument): Record<string, ReviewTaskRecord> {
  const state = reviewState(doc);
  state.reviewTasks ??= {};
  return state.reviewTasks;
}

/** `<appId>-ReviewAudioVideo-<32 hex>t`, the shape of the event page's example (docs/vod-protocol/review.md §12.1). */
export function newReviewTaskId(appId: number): string {
  return `${appId}-ReviewAudioVideo-${randomBytes(16).toString('hex')}t`;
}

/** The rules in force: those set through the admin endpoint, else `EMULATOR_REVIEW_RULES`, else pass everything. */
export function currentRules(ctx: EmulatorContext): ReviewRules {
  const stored = reviewState(ctx.store.doc).reviewRules;
  return stored ? parseReviewRules(stored) : (runners.get(ctx)?.envRules ?? DEFAULT_RULES);
}

/** Replaces the rules (validated; throws on a bad field) and keeps them in state.json. */
export function setReviewRules(ctx: EmulatorContext, raw: unknown): ReviewRules {
  const rules = parseReviewRules(raw);
  ctx.store.update((doc) => {
    reviewState(doc).reviewRules = reviewRulesJson(rules);
  });
  return rules;
}

/** `ReviewAudioVideoTask` (DescribeTaskDetail and the event payload; SDK model of that name). */
export function reviewTaskView(task: ReviewTaskRecord): Record<string, unknown> {
  return {
    TaskId: task.taskId,
    Status: task.status === 'FINISH' ? 'FINISH' : 'PROCESSING',
    ErrCodeExt: task.errCodeExt,
    Message: task.message,
    Input: { FileId: task.fileId, Definition: task.definition, ReviewContents: task.contents },
    Output: task.output,
    SessionId: task.sessionId,
    SessionContext: task.sessionContext,
  };
}

export function reviewTaskTimes(task: ReviewTaskRecord): Record<string, string> {
  const time = (ms: number | undefined) => (ms === undefined ? '' : isoTime(ms));
  return { CreateTime: isoTime(task.createdAt), BeginProcessTime: time(task.beginAt), FinishTime: time(task.finishAt) };
}

interface Verdict {
  suggestion: ReviewSuggestion;
  rule?: ReviewRule;
}

const worst = (a: ReviewSuggestion, b: ReviewSuggestion) =>
  REVIEW_SUGGESTIONS.indexOf(a) >= REVIEW_SUGGESTIONS.indexOf(b) ? a : b;

function segment(rule: ReviewRule | undefined, suggestion: ReviewSuggestion, end: number, image: boolean) {
  const item: Record<string, unknown> = {
    Confidence: rule?.confidence ?? 99,
    Suggestion: suggestion,
    Label: rule?.label ?? '',
    SubLabel: rule?.subLabel ?? '',
    Form: rule?.form ?? '',
    AreaCoordSet: [],
    Text: '',
    KeywordSet: [],
  };
  return image ? item : { StartTimeOffset: 0, EndTimeOffset: end, ...item };
}

/** Output for the verdicts: the overall Suggestion is the strictest of the contents reviewed (an assumption, see the doc). */
function outputOf(media: MediaRecord, verdicts: Partial<Record<ReviewContent, Verdict>>): Record<string, unknown> {
  const duration = Number((media.metaData as { Duration?: unknown } | null)?.Duration) || 0;
  const flagged = (v: Verdict | undefined) => v !== undefined && v.suggestion !== 'pass';
  const mediaVerdict = verdicts.Media;
  const cover = verdicts.Cover;
  const overall = [mediaVerdict, cover].reduce<ReviewSuggestion>((acc, v) => (v ? worst(acc, v.suggestion) : acc), 'pass');
  // Label and Form name what was found: in the media when it was flagged, else in the cover.
  const lead = flagged(mediaVerdict) ? mediaVerdict : flagged(cover) ? cover : undefined;
  return {
    Suggestion: overall,
    Label: lead?.rule?.label ?? '',
    Form: lead?.rule?.form ?? '',
    SegmentSet: flagged(mediaVerdict) ? [segment(mediaVerdict!.rule, mediaVerdict!.suggestion, duration, false)] : [],
    SegmentSetFileUrl: '',
    SegmentSetFileUrlExpireTime: '',
    CoverReviewResult: cover
      ? {
          Suggestion: cover.suggestion,
          Label: flagged(cover) ? (cover.rule?.label ?? '') : '',
          Form: flagged(cover) ? (cover.rule?.form ?? '') : '',
          SegmentSet: flagged(cover) ? [segment(cover.rule, cover.suggestion, 0, true)] : [],
          SegmentSetFileUrl: '',
          SegmentSetFileUrlExpireTime: '',
        }
      : null,
  };
}

/** Runs the review tasks of one emulator. */
class ReviewRunner {
  private closed = false;
  private readonly closing = new AbortController();
  private readonly running = new Map<string, Promise<void>>();

  constructor(
    private readonly ctx: EmulatorContext,
    readonly envRules: ReviewRules | undefined,
  ) {}

  schedule(taskId: string): void {
    setImmediate(() => {
      if (this.closed || this.running.has(taskId)) return;
      const run = this.run(taskId)
        .catch((error: unknown) => this.ctx.options.log(`review ${taskId} failed: ${(error as Error).stack ?? String(error)}`))
        .finally(() => this.running.delete(taskId));
      this.running.set(taskId, run);
    });
  }

  private update(taskId: string, change: (task: ReviewTaskRecord) => void): ReviewTaskRecord | undefined {
    if (this.closed) return undefined;
    return this.ctx.store.update((doc) => {
      const task = reviewTasks(doc)[taskId];
      if (task) change(task);
      return task;
    });
  }

  private async run(taskId: string): Promise<void> {
    const ctx = this.ctx;
    const started = this.update(taskId, (t) => Object.assign(t, { status: 'PROCESSING', beginAt: ctx.now() }));
    if (!started) return;
    const rules = currentRules(ctx);
    const media = ctx.store.doc.media[started.fileId];
    let failure: { errCodeExt: string; message: string } | undefined;
    const verdicts: Partial<Record<ReviewContent, Verdict>> = {};
    let delayMs = rules.delayMs;
    if (!rules.definitions.includes(started.definition)) {
      failure = {
        errCodeExt: 'InvalidInput.DefinitionNotExist',
        message: `The review template ${started.definition} does not exist.`,
      };
    } else if (!media) {
      failure = { errCodeExt: 'SourceFileError', message: `The media ${started.fileId} no longer exists.` };
    } else {
      for (const content of started.contents) {
        const key = content === 'Media' ? media.videoKey : media.coverKey;
        const file = key ? ctx.store.doc.objects[objectIndexKey(media.bucket, key)]?.file : undefined;
        if (!file || !fs.existsSync(file)) {
          failure = {
            errCodeExt: 'SourceFileError',
            message: `The media has no ${content === 'Media' ? 'original file' : 'cover'} to review.`,
          };
          break;
        }
        const duration = Number((media.metaData as { Duration?: unknown } | null)?.Duration) || 0;
        let colour: Promise<[number, number, number] | undefined> | undefined;
        const rule = await matchRule(rules, {
          content,
          fileId: media.fileId,
          name: String(media.basicInfo.Name ?? ''),
          colour: () => {
            colour ??= meanColour(
              ffmpegPath(ctx.options.ffmpegPath),
              file,
              content === 'Media' ? duration / 2 : undefined,
              this.closing.signal,
            );
            return colour;
          },
        });
        if (this.closed) return;
        if (rule?.errCodeExt) {
          failure = { errCodeExt: rule.errCodeExt, message: rule.message ?? 'The review failed.' };
          delayMs = rule.delayMs ?? delayMs;
          break;
        }
        if (rule?.delayMs !== undefined) delayMs = Math.max(delayMs, rule.delayMs);
        verdicts[content] = { suggestion: rule?.suggestion ?? rules.default, rule };
      }
    }
    if (delayMs > 0) await sleep(delayMs, this.closing.signal);
    const finished = this.update(taskId, (t) =>
      Object.assign(t, {
        status: 'FINISH',
        finishAt: ctx.now(),
        errCodeExt: failure?.errCodeExt ?? '',
        message: failure?.message ?? 'SUCCESS',
        output: failure || !media ? null : outputOf(media, verdicts),
      }),
    );
    if (!finished) return;
    ctx.events.emitVodEvent(
      finished.appId,
      'ReviewAudioVideoComplete',
      'ReviewAudioVideoCompleteEvent',
      reviewTaskView(finished),
    );
  }

  /** Stops: no task finishes after this (an interrupted one runs again on the next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    await Promise.allSettled([...this.running.values()]);
  }
}

const runners = new WeakMap<EmulatorContext, ReviewRunner>();

/**
 * Starts review for an emulator: reads `EMULATOR_REVIEW_RULES` (JSON; a bad value throws, so the emulator
 * does not start with rules it cannot apply) and queues again the tasks a previous run left unfinished.
 */
export function startReviews(ctx: EmulatorContext, env: string | undefined = process.env.EMULATOR_REVIEW_RULES): void {
  let envRules: ReviewRules | undefined;
  if (env) {
    try {
      envRules = parseReviewRules(JSON.parse(env));
    } catch (error) {
      throw new Error(`EMULATOR_REVIEW_RULES: ${(error as Error).message}`);
    }
  }
  const runner = new ReviewRunner(ctx, envRules);
  runners.set(ctx, runner);
  for (const task of Object.values(reviewTasks(ctx.store.doc))) if (task.status !== 'FINISH') runner.schedule(task.taskId);
}

export function scheduleReview(ctx: EmulatorContext, taskId: string): void {
  runners.get(ctx)?.schedule(taskId);
}

export async function stopReviews(ctx: EmulatorContext): Promise<void> {
  await runners.get(ctx)?.close();
}
