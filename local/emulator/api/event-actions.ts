/** API 3.0 actions on event notifications: PullEvents, ConfirmEvents, ModifyEventConfig, DescribeEventConfig. */
import { MAX_EVENTS_PER_PULL } from '../events.ts';
import type { EventConfig } from '../options.ts';
import type { ActionHandler } from './endpoint.ts';
import { ApiError } from './error.ts';
import { optionalString, optionalSwitch } from './params.ts';

export const pullEvents: ActionHandler = async ({ ctx, appId, signal }) => {
  const events = await ctx.events.pull(appId, signal);
  // VOD returns EventSet null when there is nothing (the SDK model says "may be null").
  return { EventSet: events.length > 0 ? events : null };
};

export const confirmEvents: ActionHandler = ({ ctx, appId }, params) => {
  const handles = params.EventHandles;
  if (!Array.isArray(handles) || handles.length === 0)
    throw new ApiError('MissingParameter', 'The parameter EventHandles is required.');
  if (handles.length > MAX_EVENTS_PER_PULL)
    throw new ApiError('InvalidParameterValue', `EventHandles may hold at most ${MAX_EVENTS_PER_PULL} handles.`);
  if (handles.some((h) => typeof h !== 'string')) throw new ApiError('InvalidParameterValue', 'EventHandles must be strings.');
  const bad = ctx.events.confirm(appId, handles as string[]);
  if (bad.length > 0) {
    // VOD's ConfirmEvents documents a late handle as a parameter error (4000): plain InvalidParameterValue
    // (docs/vod-protocol/error-codes.md). The valid handles of the call are confirmed all the same.
    throw new ApiError(
      'InvalidParameterValue',
      `Unknown, already confirmed or expired (older than 30 s) event handles: ${bad.join(', ')}`,
    );
  }
  return {};
};

export const modifyEventConfig: ActionHandler = ({ ctx, appId }, params) => {
  const change: Partial<EventConfig> = {};
  const mode = params.Mode;
  if (mode !== undefined && mode !== null) {
    if (mode !== 'PUSH' && mode !== 'PULL') throw new ApiError('InvalidParameterValue', 'Mode must be PUSH or PULL.');
    change.Mode = mode;
  }
  const url = optionalString(params, 'NotificationUrl', 1024);
  if (url !== undefined) {
    if (url !== '' && !/^https?:\/\/[^\s]+$/.test(url))
      throw new ApiError('InvalidParameterValue', 'NotificationUrl must be an http(s) URL, or "" to clear it.');
    change.NotificationUrl = url;
  }
  for (const name of [
    'UploadMediaCompleteEventSwitch',
    'DeleteMediaCompleteEventSwitch',
    'PersistenceCompleteEventSwitch',
  ] as const) {
    const value = optionalSwitch(params, name);
    if (value) change[name] = value;
  }
  const signKey = optionalString(params, 'SignKey');
  if (signKey !== undefined) {
    if (signKey !== '' && !/^[A-Za-z0-9]{1,32}$/.test(signKey))
      throw new ApiError('InvalidParameterValue', 'SignKey must be letters and digits, at most 32.');
    change.SignKey = signKey;
  }
  ctx.events.setConfig(appId, change);
  return {};
};

export const describeEventConfig: ActionHandler = ({ ctx, appId }) => {
  const c = ctx.events.config(appId);
  // SignKey is write-only: VOD's DescribeEventConfig response has no such field.
  return {
    Mode: c.Mode,
    NotificationUrl: c.NotificationUrl,
    UploadMediaCompleteEventSwitch: c.UploadMediaCompleteEventSwitch,
    DeleteMediaCompleteEventSwitch: c.DeleteMediaCompleteEventSwitch,
    PersistenceCompleteEventSwitch: c.PersistenceCompleteEventSwitch,
  };
};
