/** What every part of the emulator shares: options, durable state, object files, faults, events. */
import { createHash } from 'node:crypto';
import type { Faults } from './faults.ts';
import type { ObjectFiles } from './objects.ts';
import type { ResolvedOptions } from './options.ts';
import type { ProcessingTask, StateStore } from './state.ts';
import type { EventHub } from './events.ts';

/** A task as it is submitted; the pool numbers, dates and queues it. */
export type NewTask = Omit<ProcessingTask, 'seq' | 'status' | 'attempts' | 'createdAt'>;

/** What the API and uploads need of the media-processing worker pool (processing/pool.ts). */
export interface TaskQueue {
  /** Queues a new task (already validated) and persists it before returning. */
  submit(task: NewTask, sessionKey?: string): ProcessingTask;
}

export interface EmulatorContext {
  options: ResolvedOptions;
  store: StateStore;
  files: ObjectFiles;
  faults: Faults;
  events: EventHub;
  /** The media-processing worker pool. */
  processing: TaskQueue;
  /** The emulator's clock, ms. */
  now(): number;
  /** The emulator's own base URL (known once it listens). */
  baseUrl(): string;
}

const REGION_ABBREVIATIONS: Record<string, string> = {
  'ap-guangzhou': 'gz',
  'ap-shanghai': 'sh',
  'ap-beijing': 'bj',
  'ap-chengdu': 'cd',
  'ap-chongqing': 'cq',
  'ap-nanjing': 'nj',
  'ap-hongkong': 'hk',
  'ap-singapore': 'sg',
  'ap-tokyo': 'jp',
  'ap-seoul': 'kr',
  'ap-bangkok': 'th',
  'ap-mumbai': 'in',
  'na-siliconvalley': 'usw',
  'na-ashburn': 'use',
  'eu-frankfurt': 'de',
};

/** VOD's short region name (`storageRegion` "cq" beside `storageRegionV5` "ap-chongqing"). */
export function regionAbbreviation(region: string): string {
  return (
    REGION_ABBREVIATIONS[region] ??
    region
      .split('-')
      .map((part) => part.slice(0, 2))
      .join('')
  );
}

/**
 * The storage bucket of one application in one region, without the `-<storageAppId>` suffix, in
 * VOD's shape `<8 hex>vod<region abbr><appId>` (e.g. `faeed456vodcq1400170034`).
 */
export function shortBucketName(appId: number, region: string): string {
  const prefix = createHash('md5').update(`${appId}/${region}`).digest('hex').slice(0, 8);
  return `${prefix}vod${regionAbbreviation(region)}${appId}`;
}

export function fullBucketName(ctx: EmulatorContext, appId: number, region: string): string {
  return `${shortBucketName(appId, region)}-${ctx.options.storageAppId}`;
}

/** Media link for a stored object: `<publicUrl>/media/<key>` (key = storagePath without the leading "/"). */
export function mediaUrl(ctx: EmulatorContext, storagePath: string): string {
  const base = ctx.options.publicUrl ?? ctx.baseUrl();
  return `${base}/media/${storagePath.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/')}`;
}
