/** Resume records: what lets an interrupted upload continue instead of starting over. */

/** What is kept between runs so an interrupted upload continues instead of starting over. */
export interface ResumeRecord {
  uploadId: string;
  vodSessionKey: string;
  /** Every file reached COS; only the commit is left. */
  uploaded?: boolean;
  savedAt: number;
}

export interface ResumeStore {
  get(key: string): ResumeRecord | undefined | Promise<ResumeRecord | undefined>;
  set(key: string, record: ResumeRecord): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  /**
   * Optional: claims a record for one running upload. Returns a release function, or undefined when
   * another live upload holds it (that upload's record is then left alone: this one runs without resume).
   */
  lock?(key: string): (() => void) | undefined | Promise<(() => void) | undefined>;
}

export class MemoryResumeStore implements ResumeStore {
  private readonly records = new Map<string, ResumeRecord>();
  get(key: string) {
    return this.records.get(key);
  }
  set(key: string, record: ResumeRecord) {
    this.records.set(key, record);
  }
  delete(key: string) {
    this.records.delete(key);
  }
}

/** Resume records older than this are ignored (the upload's signature has long expired by then). */
export const RESUME_MAX_AGE_MS = 7 * 24 * 3600_000;

export function isResumeRecord(value: unknown): value is ResumeRecord {
  const v = value as ResumeRecord | null;
  return (
    !!v &&
    typeof v === 'object' &&
    typeof v.uploadId === 'string' &&
    typeof v.vodSessionKey === 'string' &&
    typeof v.savedAt === 'number'
  );
}
