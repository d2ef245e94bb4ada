/**
 * Where the bytes of multipart parts live. The first part received fixes the upload's slot size S
 * (kept in the name of its assembly file, `slots-<S>`, so it survives a restart). Part N of at most
 * S bytes whose slot holds no stored part is written in place at (N-1)·S of that file; any other part
 * (larger than S, a re-upload while its slot is taken, received while the upload completes) gets a
 * file of its own, `<N>.<md5 hex>`. A stored part is in its own file when that file exists for its
 * ETag, else in its slot. Completing parts 1..K of S bytes each (the last at most S), all in their
 * slots, is then a truncate and a rename, not a copy; every other list is copied range by range.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { EmulatorContext } from '../context.ts';
import type { FileRange, WrittenFile } from '../objects.ts';
import type { MultipartUpload } from '../state.ts';
import { CosError } from './messages.ts';

const SLOTS = /^slots-(\d+)$/;

/** Slot numbers being written, per upload id, and the uploads being completed (in memory: a restart ends both). */
const writing = new Map<string, Set<number>>();
const completing = new Set<string>();

export interface ReceivedPart {
  size: number;
  md5: Buffer;
  /** Keeps the bytes as part `partNumber` (true) or drops them (false); call exactly once. */
  settle(keep: boolean): void;
}

function slotFile(ctx: EmulatorContext, uploadId: string): { file: string; size: number } | undefined {
  const dir = ctx.files.uploadDir(uploadId);
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  for (const name of names) {
    const m = SLOTS.exec(name);
    if (m) return { file: path.join(dir, name), size: Number(m[1]) };
  }
  return undefined;
}

const ownFile = (ctx: EmulatorContext, uploadId: string, partNumber: number, etag: string) =>
  path.join(ctx.files.uploadDir(uploadId), `${partNumber}.${etag.replace(/"/g, '').toLowerCase()}`);

/** The bytes of a stored part: its own file, or its slot. */
export function partRange(ctx: EmulatorContext, upload: MultipartUpload, partNumber: number): FileRange & { inSlot: boolean } {
  const stored = upload.parts[String(partNumber)]!;
  const own = ownFile(ctx, upload.uploadId, partNumber, stored.etag);
  if (fs.existsSync(own)) return { file: own, inSlot: false };
  const legacy = path.join(ctx.files.uploadDir(upload.uploadId), String(partNumber)); // layout before slots
  if (fs.existsSync(legacy)) return { file: legacy, inSlot: false };
  const slots = slotFile(ctx, upload.uploadId);
  if (!slots) throw new Error(`part ${partNumber} of upload ${upload.uploadId} has no bytes on disk`);
  const start = (partNumber - 1) * slots.size;
  return { file: slots.file, start, end: start + stored.size - 1, inSlot: true };
}

/** Decides, synchronously, whether part `partNumber` of `declared` bytes goes to its slot; opens the slot file if so. */
function claimSlot(ctx: EmulatorContext, upload: MultipartUpload, partNumber: number, declared: number) {
  const id = upload.uploadId;
  if (!Number.isSafeInteger(declared) || declared < 0 || completing.has(id) || writing.get(id)?.has(partNumber)) return undefined;
  if (upload.parts[String(partNumber)] && partRange(ctx, upload, partNumber).inSlot) return undefined;
  let slots = slotFile(ctx, id);
  if (!slots) {
    const dir = ctx.files.uploadDir(id);
    fs.mkdirSync(dir, { recursive: true });
    slots = { file: path.join(dir, `slots-${declared}`), size: declared };
    fs.closeSync(fs.openSync(slots.file, 'a'));
  }
  if (declared > slots.size) return undefined;
  const fd = fs.openSync(slots.file, 'r+');
  const inFlight = writing.get(id) ?? new Set<number>();
  inFlight.add(partNumber);
  writing.set(id, inFlight);
  const release = () => {
    inFlight.delete(partNumber);
    if (inFlight.size === 0 && writing.get(id) === inFlight) writing.delete(id);
  };
  return { file: slots.file, fd, position: (partNumber - 1) * slots.size, size: slots.size, release };
}

/** Receives the body of part `partNumber` into its slot or its own file. */
export async function receivePart(
  ctx: EmulatorContext,
  upload: MultipartUpload,
  partNumber: number,
  req: IncomingMessage,
  maxBytes: number,
): Promise<ReceivedPart> {
  const slot = claimSlot(ctx, upload, partNumber, Number(req.headers['content-length'] ?? Number.NaN));
  if (slot) {
    try {
      const written = await ctx.files.writeAt(req, slot.file, slot.fd, slot.position, slot.size);
      // A slot that is not kept holds no stored part: nothing to undo, the next upload overwrites it.
      return { ...written, settle: slot.release };
    } catch (error) {
      slot.release();
      // Aborted or completed meanwhile: the slot file is gone, so its bytes could not be hashed.
      if (!ctx.store.doc.multipart[upload.uploadId]) {
        throw new CosError(404, 'NoSuchUpload', 'The multipart upload was aborted or completed while the part was uploading.');
      }
      throw error;
    }
  }
  const written = await ctx.files.writeStream(req, ctx.files.tempPath(), maxBytes);
  return {
    size: written.size,
    md5: written.md5,
    settle(keep) {
      if (!keep) return ctx.files.remove(written.file);
      const own = ownFile(ctx, upload.uploadId, partNumber, written.md5.toString('hex'));
      fs.mkdirSync(path.dirname(own), { recursive: true });
      fs.renameSync(written.file, own);
    },
  };
}

/**
 * Writes the object made of the listed parts to `target` and returns its size and MD5. The list must
 * already be validated (parts exist, ETags match). Parts 1..K all in their slots, all of the slot size
 * but the last: the slot file becomes the object (truncate, rename), hashed again only when `knownMd5`
 * (the hash made while the parts arrived) has no answer.
 */
export async function assembleParts(
  ctx: EmulatorContext,
  upload: MultipartUpload,
  partNumbers: number[],
  target: string,
  knownMd5: () => Promise<Buffer | undefined>,
): Promise<WrittenFile> {
  const id = upload.uploadId;
  const ranges = partNumbers.map((n) => partRange(ctx, upload, n));
  const slots = slotFile(ctx, id);
  const size = (n: number) => upload.parts[String(n)]!.size;
  const inPlace =
    slots !== undefined &&
    !writing.has(id) &&
    partNumbers.every((n, i) => n === i + 1 && ranges[i]!.inSlot && (i === partNumbers.length - 1 || size(n) === slots.size));
  completing.add(id);
  try {
    if (!inPlace) return await ctx.files.concat(ranges, target);
    const total = partNumbers.reduce((sum, n) => sum + size(n), 0);
    const md5 = (await knownMd5()) ?? (await ctx.files.md5Of(slots.file, total));
    fs.truncateSync(slots.file, total);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(slots.file, target);
    return { file: target, size: total, md5 };
  } finally {
    completing.delete(id);
  }
}

/** True while `assembleParts` runs for the upload. */
export const isCompleting = (uploadId: string) => completing.has(uploadId);
