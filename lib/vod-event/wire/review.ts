/**
 * The `ReviewAudioVideoCompleteEvent` payload, a `ReviewAudioVideoTask` (docs/vod-protocol/review.md; rules in
 * `fields.ts`), and the same task as DescribeTaskDetail answers it. Strict where a wrong value would
 * decide wrongly: ids, the task status and every `Suggestion` (an unknown one is an error, never a pass).
 * Lenient where VOD's docs disagree or are silent: the case of a Suggestion (`Block`), what `Input` echoes,
 * and everything inside a suspect segment, which is informational.
 */
import type { vod } from 'tencentcloud-sdk-nodejs-vod';
import * as z from 'zod';
import { REVIEW_CONTENTS, REVIEW_SUGGESTIONS, type ReviewContent, type ReviewSuggestion } from '#contract';
import type { EventPath } from '../error.ts';
import { REVIEW_TASK_STATUSES, type ReviewAudioVideoCompleteEvent, type ReviewSegment } from '../review.ts';
import {
  guardDepth,
  id,
  isObject,
  list,
  numberOrZero,
  optionalNumber,
  optionalText,
  optionalUrl,
  parseAt,
  safeString,
  text,
} from './fields.ts';

type Payload = Omit<ReviewAudioVideoCompleteEvent, 'kind' | 'eventHandle'>;
type TaskDetail = Awaited<ReturnType<InstanceType<typeof vod.v20180717.Client>['DescribeTaskDetail']>>;

/** VOD shows at most 10 segments; more than this many are not read at all (a forged list stays cheap). */
const MAX_SEGMENTS = 100;

/** `pass` | `review` | `block`, any case; absent/null/"" → undefined; anything else is an error. */
const suggestion = z
  .string({ error: `must be one of ${REVIEW_SUGGESTIONS.join(', ')}` })
  .nullish()
  .transform((v, ctx): ReviewSuggestion | undefined => {
    if (!v) return undefined;
    const lower = v.trim().toLowerCase();
    if ((REVIEW_SUGGESTIONS as readonly string[]).includes(lower)) return lower as ReviewSuggestion;
    ctx.addIssue({ code: 'custom', message: `must be one of ${REVIEW_SUGGESTIONS.join(', ')}` });
    return z.NEVER;
  });

const segmentList = z
  .unknown()
  .transform((v) => (Array.isArray(v) ? v.slice(0, MAX_SEGMENTS) : v))
  .pipe(
    list(
      z
        .object({
          StartTimeOffset: optionalNumber.catch(undefined),
          EndTimeOffset: optionalNumber.catch(undefined),
          Confidence: optionalNumber.catch(undefined),
          Suggestion: suggestion.catch(undefined),
          Label: optionalText.catch(undefined),
          SubLabel: optionalText.catch(undefined),
          Form: optionalText.catch(undefined),
          AreaCoordSet: list(optionalNumber).catch([]),
          Text: optionalText.catch(undefined),
          KeywordSet: list(safeString).catch([]),
          Url: optionalUrl.catch(undefined),
          PicUrlExpireTime: optionalText.catch(undefined),
        })
        .transform(
          (s): ReviewSegment => ({
            startTimeOffset: s.StartTimeOffset,
            endTimeOffset: s.EndTimeOffset,
            confidence: s.Confidence,
            suggestion: s.Suggestion,
            label: s.Label,
            subLabel: s.SubLabel,
            form: s.Form,
            areaCoords: s.AreaCoordSet.filter((n): n is number => n !== undefined),
            text: s.Text,
            keywords: s.KeywordSet,
            url: s.Url,
            picUrlExpireTime: s.PicUrlExpireTime,
          }),
        ),
    ).catch([]),
  );

const verdictFields = {
  Suggestion: suggestion,
  Label: optionalText,
  Form: optionalText,
  SegmentSet: segmentList,
  SegmentSetFileUrl: optionalUrl.catch(undefined),
  SegmentSetFileUrlExpireTime: optionalText.catch(undefined),
};

const coverResult = z.object(verdictFields).nullish();

const output = z.object({ ...verdictFields, CoverReviewResult: coverResult }).nullish();

const input = z.object(
  {
    FileId: id,
    Definition: optionalNumber.catch(undefined),
    ReviewContents: list(z.unknown())
      .catch([])
      .transform((v) => REVIEW_CONTENTS.filter((c) => v.includes(c)) as ReviewContent[]),
  },
  { error: 'is required and must be an object' },
);

const reviewTask = z.object({
  TaskId: id,
  Status: z.enum(REVIEW_TASK_STATUSES, { error: `must be one of ${REVIEW_TASK_STATUSES.join(', ')}` }),
  ErrCodeExt: text,
  ErrCode: numberOrZero,
  Message: text,
  Input: input,
  Output: output,
  SessionId: optionalText,
  SessionContext: optionalText,
});

export function readReviewTask(payload: unknown, path: EventPath): Payload {
  const t = parseAt(reviewTask, payload, path);
  const o = t.Output;
  const cover = o?.CoverReviewResult;
  return {
    taskId: t.TaskId,
    status: t.Status,
    fileId: t.Input.FileId,
    definition: t.Input.Definition,
    reviewContents: t.Input.ReviewContents,
    errCodeExt: t.ErrCodeExt,
    errCode: t.ErrCode,
    message: t.Message,
    sessionContext: t.SessionContext,
    sessionId: t.SessionId,
    output: o
      ? {
          suggestion: o.Suggestion,
          label: o.Label,
          form: o.Form,
          segments: o.SegmentSet,
          segmentSetFileUrl: o.SegmentSetFileUrl,
          segmentSetFileUrlExpireTime: o.SegmentSetFileUrlExpireTime,
          cover: cover
            ? {
                suggestion: cover.Suggestion,
                label: cover.Label,
                form: cover.Form,
                segments: cover.SegmentSet,
                segmentSetFileUrl: cover.SegmentSetFileUrl,
                segmentSetFileUrlExpireTime: cover.SegmentSetFileUrlExpireTime,
              }
            : undefined,
        }
      : undefined,
  };
}

/**
 * The ReviewAudioVideoComplete event of a task as DescribeTaskDetail answers it, or undefined when the
 * answer is not about a review task. Its status as for procedures: either status saying ABORTED means
 * aborted, else either saying FINISH means finished, else (WAITING included) PROCESSING.
 */
export function reviewCompleteFromTaskDetail(detail: TaskDetail): ReviewAudioVideoCompleteEvent | undefined {
  const task: unknown = detail.ReviewAudioVideoTask;
  if (detail.TaskType !== 'ReviewAudioVideo' || !isObject(task)) return undefined;
  const says = (status: string) => detail.Status === status || task.Status === status;
  const status = says('ABORTED') ? 'ABORTED' : says('FINISH') ? 'FINISH' : 'PROCESSING';
  return guardDepth(() => ({
    kind: 'ReviewAudioVideoComplete',
    eventHandle: undefined,
    ...readReviewTask({ ...task, Status: status }, ['ReviewAudioVideoCompleteEvent']),
  }));
}
