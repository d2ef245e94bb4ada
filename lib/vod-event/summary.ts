/**
 * What a ProcedureStateChanged means for the upload: the media it produced, and whether processing
 * succeeded (READY), failed (FAILED) or is still running.
 */
import type { ProcedureStateChangedEvent } from './events.ts';
import type { AdaptiveStream, AnimatedGraphic, ImageSprite, Rendition } from './media.ts';
import type { MediaProcessResult } from './subtasks.ts';

type ProcessingOutcome = 'SUCCESS' | 'FAIL' | 'PROCESSING';

interface ProcessingSummary {
  /** PROCESSING until the event says FINISH (or ABORTED: always FAIL); then FAIL if anything in `failures`, else SUCCESS. */
  outcome: ProcessingOutcome;
  /** Mean subtask progress, 0–100; 100 once FINISH. */
  progress: number;
  /** `definition` falls back to the requested template when VOD reports 0 (see below). */
  renditions: Array<Rendition & { url: string; definition: number }>;
  adaptiveStreams: Array<AdaptiveStream & { url: string }>;
  cover?: { url: string; definition?: number };
  snapshots: Array<{ definition?: number; timeOffsetMs?: number; url: string }>;
  sampleSnapshots: Array<{ definition?: number; imageUrls: string[] }>;
  /** The first sprite produced (a pipeline asks for one). */
  sprite?: ImageSprite;
  animatedGraphics: Array<AnimatedGraphic & { url: string }>;
  failures: ProcessingFailure[];
}

interface ProcessingFailure {
  /** The subtask type (its raw name when unknown), or `Procedure` for a procedure-level error. */
  type: string;
  definition?: number;
  errCode: number;
  errCodeExt: string;
  message: string;
}

/** Our own errCodeExt values for problems VOD did not report as such. */
export const UNFINISHED_SUBTASK = 'UnfinishedSubtask';
export const MISSING_OUTPUT = 'MissingOutput';
/** The task itself ended ABORTED (a task status VOD documents without a reason). */
export const TASK_ABORTED = 'TaskAborted';

export function summariseProcessing(event: ProcedureStateChangedEvent): ProcessingSummary {
  const aborted = event.status === 'ABORTED';
  const finished = event.status === 'FINISH' || aborted;
  const summary: ProcessingSummary = {
    outcome: 'PROCESSING',
    progress: 0,
    renditions: [],
    adaptiveStreams: [],
    snapshots: [],
    sampleSnapshots: [],
    animatedGraphics: [],
    failures: [],
  };

  for (const result of event.results) {
    if (result.type === 'Unknown') {
      // Not something we asked for; only its failure is worth reporting.
      if (result.status === 'FAIL') summary.failures.push(failureOf(result, undefined));
      continue;
    }
    if (result.status === 'FAIL') {
      summary.failures.push(failureOf(result, result.input.definition));
    } else if (result.status === 'PROCESSING') {
      // FINISH with a subtask still running is inconsistent; never call that success.
      if (finished)
        summary.failures.push({
          ...failureOf(result, result.input.definition),
          errCodeExt: UNFINISHED_SUBTASK,
          message: 'still PROCESSING when the procedure finished',
        });
    } else if (!collectOutput(summary, result)) {
      // SUCCESS without the thing it was meant to produce would make an upload READY with nothing to play.
      summary.failures.push({
        ...failureOf(result, result.input.definition),
        errCodeExt: MISSING_OUTPUT,
        message: 'reported SUCCESS without an output URL',
      });
    }
  }

  // The procedure-level ErrCode is deprecated; it only decides when there are no subtasks to judge by
  // (e.g. the procedure could not start).
  if (finished && event.results.length === 0 && event.errCode !== 0) {
    summary.failures.push({
      type: 'Procedure',
      errCode: event.errCode,
      errCodeExt: String(event.errCode),
      message: event.message,
    });
  }

  if (aborted) {
    summary.failures.unshift({
      type: 'Procedure',
      errCode: event.errCode,
      errCodeExt: TASK_ABORTED,
      message: event.message || 'VOD aborted the task',
    });
  }

  summary.progress = finished ? 100 : meanProgress(event.results);
  summary.outcome = !finished ? 'PROCESSING' : summary.failures.length > 0 ? 'FAIL' : 'SUCCESS';
  return summary;
}

/** Adds a successful subtask's output to the summary; false when the output it must have is missing. */
function collectOutput(summary: ProcessingSummary, result: Exclude<MediaProcessResult, { type: 'Unknown' }>): boolean {
  switch (result.type) {
    case 'Transcode': {
      const output = result.output;
      if (output?.url === undefined) return false;
      // Doc examples report `Definition: 0` (0 = original) for a template-20 output named v.f20.mp4:
      // trust the requested template then.
      const definition = output.definition || result.input.definition || 0;
      summary.renditions.push({ ...output, url: output.url, definition });
      return true;
    }
    case 'AdaptiveDynamicStreaming': {
      const output = result.output;
      if (output?.url === undefined) return false;
      summary.adaptiveStreams.push({ ...output, url: output.url, definition: output.definition ?? result.input.definition });
      return true;
    }
    case 'CoverBySnapshot': {
      const url = result.output?.coverUrl;
      if (url === undefined) return false;
      summary.cover ??= { url, definition: result.input.definition };
      return true;
    }
    case 'SnapshotByTimeOffset': {
      const definition = result.output?.definition || result.input.definition;
      const pictures = (result.output?.pictures ?? []).flatMap((p) =>
        p.url === undefined ? [] : [{ definition, timeOffsetMs: p.timeOffsetMs, url: p.url }],
      );
      summary.snapshots.push(...pictures);
      return pictures.length > 0;
    }
    case 'SampleSnapshot': {
      const imageUrls = result.output?.imageUrls ?? [];
      if (imageUrls.length === 0) return false;
      summary.sampleSnapshots.push({ definition: result.output?.definition || result.input.definition, imageUrls });
      return true;
    }
    case 'ImageSprites': {
      const output = result.output;
      if (output === undefined || output.imageUrls.length === 0) return false;
      summary.sprite ??= { ...output, definition: output.definition ?? result.input.definition };
      return true;
    }
    case 'AnimatedGraphics': {
      const output = result.output;
      if (output?.url === undefined) return false;
      summary.animatedGraphics.push({ ...output, url: output.url, definition: output.definition ?? result.input.definition });
      return true;
    }
  }
}

function failureOf(result: MediaProcessResult, definition: number | undefined): ProcessingFailure {
  return {
    type: result.type === 'Unknown' ? result.rawType : result.type,
    definition,
    errCode: result.errCode,
    errCodeExt: result.errCodeExt,
    message: result.message,
  };
}

function meanProgress(results: readonly MediaProcessResult[]): number {
  if (results.length === 0) return 0;
  return Math.round(results.reduce((sum, r) => sum + r.progress, 0) / results.length);
}
