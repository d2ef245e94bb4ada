/**
 * VOD names the backend and the emulator must spell alike: task notify modes, the parts DeleteMedia
 * can name, and the task sets of ProcessMedia with the result field each one reports
 * (docs/vod-protocol/events.md §4, media-api.md §5.1).
 */

/** `TasksNotifyMode` / the signature's `taskNotifyMode`: when VOD sends ProcedureStateChanged. */
export const TASK_NOTIFY_MODES = ['Finish', 'Change', 'None'] as const;
export type TaskNotifyMode = (typeof TASK_NOTIFY_MODES)[number];

/** The parts DeleteMedia can name (`MediaDeleteItem.Type` in the SDK models). */
export const MEDIA_DELETE_PART_TYPES: readonly string[] = [
  'OriginalFiles',
  'TranscodeFiles',
  'AdaptiveDynamicStreamingFiles',
  'WechatPublishFiles',
  'WechatMiniProgramPublishFiles',
];

/** `MediaProcessResultSet[].Type` values, each with the field that carries its result. */
export const MEDIA_PROCESS_TASK_FIELDS = {
  Transcode: 'TranscodeTask',
  AnimatedGraphics: 'AnimatedGraphicTask',
  SnapshotByTimeOffset: 'SnapshotByTimeOffsetTask',
  SampleSnapshot: 'SampleSnapshotTask',
  ImageSprites: 'ImageSpriteTask',
  CoverBySnapshot: 'CoverBySnapshotTask',
  AdaptiveDynamicStreaming: 'AdaptiveDynamicStreamingTask',
} as const;
export type MediaProcessTaskType = keyof typeof MEDIA_PROCESS_TASK_FIELDS;

/** ProcessMedia's `MediaProcessTask` task sets, each with the subtask type it produces. */
export const MEDIA_PROCESS_TASK_SETS = {
  TranscodeTaskSet: 'Transcode',
  AnimatedGraphicTaskSet: 'AnimatedGraphics',
  SnapshotByTimeOffsetTaskSet: 'SnapshotByTimeOffset',
  SampleSnapshotTaskSet: 'SampleSnapshot',
  ImageSpriteTaskSet: 'ImageSprites',
  CoverBySnapshotTaskSet: 'CoverBySnapshot',
  AdaptiveDynamicStreamingTaskSet: 'AdaptiveDynamicStreaming',
} as const satisfies Record<string, MediaProcessTaskType>;

/** `ReviewAudioVideoTaskOutput.Suggestion` (and `ReviewImageResult.Suggestion`), mildest first (docs/vod-protocol/review.md). */
export const REVIEW_SUGGESTIONS = ['pass', 'review', 'block'] as const;
export type ReviewSuggestion = (typeof REVIEW_SUGGESTIONS)[number];

/** `ReviewAudioVideo`'s `ReviewContents`: the original audio/video and the cover; none given means `Media`. */
export const REVIEW_CONTENTS = ['Media', 'Cover'] as const;
export type ReviewContent = (typeof REVIEW_CONTENTS)[number];

/** `ReviewAudioVideo`'s `Definition` when none is given: VOD's preset review template. */
export const REVIEW_PRESET_DEFINITION = 10;
