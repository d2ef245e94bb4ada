'use strict';
/**
 * `pg-types` for the function bundles: the same text-format parsers (every result the functions read is
 * in text format), without the binary-format parsers, which pg uses only when a query or the connection
 * asks for binary results (pg's `binary` option; never set here). Asking for one fails loudly instead of
 * returning unparsed bytes. Mirrors pg-types 2's index.js otherwise.
 */
const textParsers = require('pg-types/lib/textParsers');
const arrayParser = require('pg-types/lib/arrayParser');
const builtins = require('pg-types/lib/builtins');

const parsers = { text: {} };
const noParse = (value) => String(value);

function getTypeParser(oid, format) {
  const kind = format || 'text';
  if (kind === 'binary') throw new Error("pg's binary result format is not part of the function bundles");
  if (!parsers[kind]) return noParse;
  return parsers[kind][oid] || noParse;
}

function setTypeParser(oid, format, parse) {
  if (typeof format === 'function') {
    parse = format;
    format = 'text';
  }
  if (format === 'binary') throw new Error("pg's binary result format is not part of the function bundles");
  parsers[format][oid] = parse;
}

textParsers.init((oid, converter) => {
  parsers.text[oid] = converter;
});

module.exports = { getTypeParser, setTypeParser, arrayParser, builtins };
