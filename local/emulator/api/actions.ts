/**
 * The API 3.0 action table. To add an action, add an entry to `API_ACTIONS` (or pass `actions` to
 * `startEmulator`): a handler gets the JSON parameters and returns the Response fields without
 * RequestId, or throws `ApiError(code, message)`.
 */
import type { ActionHandler } from './endpoint.ts';
import { confirmEvents, describeEventConfig, modifyEventConfig, pullEvents } from './event-actions.ts';
import { forbidMediaDistribution } from './forbid-actions.ts';
import { deleteMedia, describeMediaInfos, searchMedia } from './media-actions.ts';
import { PROCESSING_ACTIONS } from './processing-actions.ts';
import { applyUploadAction, commitUploadAction } from './upload-actions.ts';
import { reviewAudioVideo, withReviewTaskDetail, withReviewTaskList } from '../review/actions.ts';

export const API_ACTIONS: Record<string, ActionHandler> = {
  DescribeMediaInfos: describeMediaInfos,
  SearchMedia: searchMedia,
  DeleteMedia: deleteMedia,
  ForbidMediaDistribution: forbidMediaDistribution,
  PullEvents: pullEvents,
  ConfirmEvents: confirmEvents,
  ModifyEventConfig: modifyEventConfig,
  DescribeEventConfig: describeEventConfig,
  ApplyUpload: applyUploadAction,
  CommitUpload: commitUploadAction,
  ...PROCESSING_ACTIONS,
  ReviewAudioVideo: reviewAudioVideo,
  DescribeTaskDetail: withReviewTaskDetail(PROCESSING_ACTIONS.DescribeTaskDetail!),
  DescribeTasks: withReviewTaskList(PROCESSING_ACTIONS.DescribeTasks!),
};
