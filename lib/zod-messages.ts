/**
 * The function bundles validate with `zod/mini`, which is tree-shakable (a bundle carries only the schema
 * kinds it uses) but installs no locale: its issues would all read "Invalid input". Importing this module
 * installs zod's English messages when none is set, as the full `zod` does on its first schema, so both
 * give the same messages (the ones the tests and README quote).
 */
import { config, globalConfig } from 'zod/v4/core';
import { en } from 'zod/v4/locales';

if (!globalConfig.localeError) config(en());
