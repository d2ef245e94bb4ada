/**
 * The VOD API 3.0 client (the official `tencentcloud-sdk-nodejs-vod`), created once per instance, a
 * retry policy for it, and `vodApi`: the one adapter through which the functions ask VOD anything, with
 * the sub-app, the caller's deadline and the retries inside. `VOD_API_ENDPOINT` points the client at
 * another endpoint (the local emulator).
 */
import { vod } from 'tencentcloud-sdk-nodejs-vod';
import type { Config } from '#lib/config';
import type { ReviewContent } from '#contract';

export type VodClient = InstanceType<typeof vod.v20180717.Client>;

export function createVodClient(config: Config, options: { timeoutSeconds?: number } = {}): VodClient {
  return new vod.v20180717.Client({
    credential: { secretId: config.vod.secretId, secretKey: config.vod.secretKey },
    region: config.vod.region,
    profile: {
      httpProfile: {
        reqTimeout: options.timeoutSeconds ?? 10,
        ...(config.vod.endpoint ? { endpoint: config.vod.endpoint, protocol: config.vod.protocol } : {}),
      },
    },
  });
}

/** The API's error code (`InvalidParameterValue.SessionId`, `InternalError`, …), when the error has one. */
export function vodErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/**
 * DescribeTaskDetail does not know the task (it keeps tasks for three days): VOD's documented
 * `InvalidParameterValue.TaskId`, any `ResourceNotFound…`, or a plain `InvalidParameterValue`
 * (docs/vod-protocol/error-codes.md).
 */
export function isUnknownTaskError(error: unknown): boolean {
  const code = vodErrorCode(error);
  return (
    code !== undefined &&
    (code.startsWith('ResourceNotFound') || code === 'InvalidParameterValue.TaskId' || code === 'InvalidParameterValue')
  );
}

/**
 * ConfirmEvents refused a handle that is unknown, already confirmed or older than 30 s: documented as a
 * parameter error (plain `InvalidParameterValue`); `InvalidParameterValue.EventHandle` is read the same.
 * The event comes again and its de-dupe key makes that harmless.
 */
export function isStaleEventHandleError(error: unknown): boolean {
  const code = vodErrorCode(error);
  return code === 'InvalidParameterValue' || code === 'InvalidParameterValue.EventHandle';
}

/**
 * A task status after which nothing changes: `FINISH`, or `ABORTED` (DescribeTaskDetail and DescribeTasks
 * list both; an aborted task failed). WAITING and PROCESSING are still running.
 */
export function isFinalTaskStatus(status: string | undefined): boolean {
  return status === 'FINISH' || status === 'ABORTED';
}

/**
 * VOD refused a ProcessMedia because its SessionId was used within the last three days: an earlier call
 * started the task. Not `InvalidParameterValue.SessionIdTooLong` (a SessionId over 50 characters), which
 * started nothing (docs/vod-protocol/error-codes.md).
 */
export function isRepeatedSessionIdError(error: unknown): boolean {
  return vodErrorCode(error) === 'InvalidParameterValue.SessionId';
}

/**
 * Worth another try: VOD's transient errors and anything that never got an API answer (network,
 * timeout). Parameter, auth and resource errors are final.
 */
export function isRetryableVodError(error: unknown): boolean {
  const code = vodErrorCode(error);
  if (code === undefined) return true;
  return (
    /^(InternalError|RequestLimitExceeded|ResourceUnavailable|FailedOperation\.(Timeout|ServiceBusy|InternalError))/.test(code) ||
    /^ERR_|^E[A-Z]+$/.test(code)
  );
}

interface RetryOptions {
  attempts?: number;
  baseDelayMs?: number;
  /** Give up early rather than run past this moment (the function's own time budget). */
  deadline?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Calls `fn` with exponential backoff and jitter while the error is retryable and time remains. */
async function withVodRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 4;
  const base = options.baseDelayMs ?? 200;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const delay = base * 2 ** (attempt - 1) * (0.5 + Math.random());
      const outOfTime = options.deadline !== undefined && Date.now() + delay >= options.deadline;
      if (attempt >= attempts || !isRetryableVodError(error) || outOfTime) throw error;
      await sleep(delay);
    }
  }
}

/** The client calls this backend makes: what a stand-in for the client has to answer. */
export type VodCalls = Pick<
  VodClient,
  | 'ProcessMedia'
  | 'DescribeMediaInfos'
  | 'DescribeTaskDetail'
  | 'DescribeTasks'
  | 'DeleteMedia'
  | 'PullEvents'
  | 'ConfirmEvents'
  | 'SearchMedia'
  | 'ReviewAudioVideo'
  | 'ForbidMediaDistribution'
>;

type VodRequest<K extends keyof VodCalls> = Parameters<VodCalls[K]>[0];
type VodResponse<K extends keyof VodCalls> = Awaited<ReturnType<VodCalls[K]>>;
export type VodMediaInfo = NonNullable<VodResponse<'DescribeMediaInfos'>['MediaInfoSet']>[number];

/** DescribeMediaInfos takes at most this many files per call. */
const MEDIA_INFO_BATCH = 20;

/** What ReviewAudioVideo is asked (docs/vod-protocol/review.md); VOD's preset template and `Media` when left out. */
export interface ReviewRequest {
  /** De-duplication: VOD refuses it again within 3 days (`InvalidParameterValue.SessionId`). */
  sessionId?: string;
  /** Handed back in the ReviewAudioVideoComplete event (≤ 1000 characters). */
  sessionContext?: string;
  definition?: number;
  contents?: ReviewContent[];
}

export interface VodApiOptions {
  subAppId?: number;
  /** Epoch ms by which the caller must answer; retries stop before it. */
  deadline?: number;
}

/** What the functions ask VOD, in the configured sub-app, each call retried while time remains. */
export interface VodApi {
  /** One file's media info (all of it), or undefined when VOD does not have the file. */
  mediaInfo(fileId: string): Promise<VodMediaInfo | undefined>;
  /** Media infos, one call per 20 files, each batch asked only when the previous one was used. */
  mediaInfos(fileIds: readonly string[], filters: string[]): AsyncGenerator<{ media: VodMediaInfo[]; missing: string[] }>;
  taskDetail(taskId: string): Promise<VodResponse<'DescribeTaskDetail'>>;
  /** The file's task started with this SessionId (one ProcessMedia per file and pipeline). */
  taskBySessionId(fileId: string, sessionId: string): Promise<string | undefined>;
  /** The first task VOD lists for a file (the one a procedure started), if any; review tasks are not that one. */
  firstTaskOf(fileId: string): Promise<string | undefined>;
  processMedia(request: Omit<VodRequest<'ProcessMedia'>, 'SubAppId'>): Promise<VodResponse<'ProcessMedia'>>;
  deleteMedia(fileId: string): Promise<void>;
  /** Up to 16 events; waits up to 5 s when there are none. */
  pullEvents(): Promise<VodResponse<'PullEvents'>>;
  confirmEvents(eventHandles: string[]): Promise<void>;
  /** Videos created after `after` (ISO 8601, no milliseconds), oldest first, basic info only. */
  videosCreatedAfter(after: string, offset: number, limit: number): Promise<VodMediaInfo[]>;
  /** Starts the review of a file; resolves to the review task id. */
  reviewAudioVideo(fileId: string, request?: ReviewRequest): Promise<string>;
  /**
   * `forbid`: VOD answers 403 for every URL of the file (source, outputs, snapshots; docs/vod-protocol/media-api.md);
   * `recover` undoes it. Resolves to the files VOD does not know (nothing left to forbid).
   */
  forbidMediaDistribution(fileId: string, operation: 'forbid' | 'recover'): Promise<{ missing: boolean }>;
}

export function vodApi(client: VodCalls, options: VodApiOptions = {}): VodApi {
  const subApp = options.subAppId === undefined ? {} : { SubAppId: options.subAppId };
  const retried = <T>(call: () => Promise<T>): Promise<T> => withVodRetry(call, { deadline: options.deadline });
  return {
    async mediaInfo(fileId) {
      const info = await retried(() => client.DescribeMediaInfos({ FileIds: [fileId], ...subApp }));
      return info.MediaInfoSet?.find((m) => m.FileId === fileId);
    },
    async *mediaInfos(fileIds, filters) {
      for (let i = 0; i < fileIds.length; i += MEDIA_INFO_BATCH) {
        const ids = fileIds.slice(i, i + MEDIA_INFO_BATCH);
        const info = await retried(() => client.DescribeMediaInfos({ FileIds: ids, ...subApp, Filters: filters }));
        yield { media: info.MediaInfoSet ?? [], missing: info.NotExistFileIdSet ?? [] };
      }
    },
    taskDetail: (taskId) => retried(() => client.DescribeTaskDetail({ TaskId: taskId, ...subApp })),
    async taskBySessionId(fileId, sessionId) {
      const tasks = await retried(() => client.DescribeTasks({ FileId: fileId, Limit: 100, ...subApp }));
      return tasks.TaskSet?.find((task) => task.SessionId === sessionId)?.TaskId;
    },
    async firstTaskOf(fileId) {
      const tasks = await retried(() => client.DescribeTasks({ FileId: fileId, Limit: 10, ...subApp }));
      return tasks.TaskSet?.find((task) => task.TaskType !== 'ReviewAudioVideo')?.TaskId;
    },
    processMedia: (request) => retried(() => client.ProcessMedia({ ...request, ...subApp })),
    async deleteMedia(fileId) {
      await retried(() => client.DeleteMedia({ FileId: fileId, ...subApp }));
    },
    pullEvents: () => retried(() => client.PullEvents({ ...subApp })),
    async confirmEvents(eventHandles) {
      await retried(() => client.ConfirmEvents({ EventHandles: eventHandles, ...subApp }));
    },
    async videosCreatedAfter(after, offset, limit) {
      const page = await retried(() =>
        client.SearchMedia({
          ...subApp,
          CreateTime: { After: after },
          Categories: ['Video'],
          Filters: ['basicInfo'],
          Sort: { Field: 'CreateTime', Order: 'Asc' },
          Offset: offset,
          Limit: limit,
        }),
      );
      return page.MediaInfoSet ?? [];
    },
    async reviewAudioVideo(fileId, request = {}) {
      const started = await retried(() =>
        client.ReviewAudioVideo({
          FileId: fileId,
          ...subApp,
          ...(request.sessionId ? { SessionId: request.sessionId } : {}),
          ...(request.sessionContext ? { SessionContext: request.sessionContext } : {}),
          ...(request.definition === undefined ? {} : { Definition: request.definition }),
          ...(request.contents?.length ? { ReviewContents: [...request.contents] } : {}),
        }),
      );
      if (!started.TaskId) throw new Error('ReviewAudioVideo answered without a TaskId');
      return started.TaskId;
    },
    async forbidMediaDistribution(fileId, operation) {
      const answer = await retried(() => client.ForbidMediaDistribution({ FileIds: [fileId], Operation: operation, ...subApp }));
      return { missing: (answer.NotExistFileIdSet ?? []).includes(fileId) };
    },
  };
}
