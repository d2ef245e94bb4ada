/** The executor of each subtask type. */
import type { SubtaskType } from '../../state.ts';
import type { Executor } from '../execution.ts';
import { adaptiveStreaming } from './adaptive-streaming.ts';
import { animatedGraphic } from './animated-graphic.ts';
import { coverBySnapshot } from './cover-by-snapshot.ts';
import { imageSprite } from './image-sprite.ts';
import { sampleSnapshot } from './sample-snapshot.ts';
import { snapshotByTimeOffset } from './snapshot-by-time-offset.ts';
import { transcode } from './transcode.ts';

export const EXECUTORS: Record<SubtaskType, Executor> = {
  Transcode: transcode,
  SnapshotByTimeOffset: snapshotByTimeOffset,
  SampleSnapshot: sampleSnapshot,
  ImageSprites: imageSprite,
  CoverBySnapshot: coverBySnapshot,
  AnimatedGraphics: animatedGraphic,
  AdaptiveDynamicStreaming: adaptiveStreaming,
};
