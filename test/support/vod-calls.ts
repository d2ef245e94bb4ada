/** The official VOD client against the emulator, counting and recording the calls a test wants to see. */
import type { Config } from '#lib/config';
import { createVodClient, type VodCalls } from '#lib/vod-api';

export interface RecordedVod {
  vod: VodCalls;
  /** Calls per action name. */
  counts: Record<string, number>;
  /** The request of every ForbidMediaDistribution call, in order. */
  forbidden: Array<{ FileIds?: string[]; Operation?: string }>;
}

export function recordingVod(config: Config): RecordedVod {
  const client = createVodClient(config, { timeoutSeconds: 15 });
  const counts: Record<string, number> = {};
  const forbidden: RecordedVod['forbidden'] = [];
  const vod = new Proxy(client, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counts[String(name)] = (counts[String(name)] ?? 0) + 1;
        if (name === 'ForbidMediaDistribution') forbidden.push(args[0] as RecordedVod['forbidden'][number]);
        return value.apply(target, args);
      };
    },
  }) as VodCalls;
  return { vod, counts, forbidden };
}
