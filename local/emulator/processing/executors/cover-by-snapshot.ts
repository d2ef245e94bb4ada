/** Cover by snapshot (`CoverBySnapshotTaskSet`): one frame, at a time or a percentage, becomes the media's cover. */
import { randomBytes } from 'node:crypto';
import { COVER_DEFINITIONS } from '../../templates.ts';
import { definitionOf } from '../execution.ts';
import type { Executor } from '../execution.ts';
import { snapshot } from '../snapshot.ts';
import { invalidInput } from '../subtask-error.ts';

export const coverBySnapshot: Executor = async (e) => {
  const definition = definitionOf(e.input);
  if (!COVER_DEFINITIONS.has(definition))
    throw invalidInput(`the snapshot template ${definition} does not exist`, 'InvalidInput.DefinitionNotExist');
  const type = e.input.PositionType;
  const value = Number(e.input.PositionValue ?? 0);
  const seconds = type === 'Percent' ? (value / 100) * e.source.duration : value;
  const file = await snapshot(e, seconds, `cover.${definition}_${randomBytes(4).toString('hex')}.jpg`);
  return { kind: 'cover', definition, files: [file], output: (published) => ({ CoverUrl: published.get(file.name)!.url }) };
};
