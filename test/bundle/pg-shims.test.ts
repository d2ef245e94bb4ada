/**
 * The shims that replace parts of pg in the bundles (scripts/build.ts `PG_SHIMS`) answer as the modules
 * they replace do for everything the functions use, and fail loudly for what they leave out.
 */
import realTypes from 'pg-types';

// CommonJS files with no type declarations: typed here as what they stand in for.
const shims = '../../scripts/bundle-shims';
type Parse = (text: string) => unknown;
const shimTypes = require(`${shims}/pg-types.cjs`) as {
  getTypeParser(oid: number, format?: string): Parse;
  setTypeParser(oid: number, format: string | Parse, parse?: Parse): void;
  builtins: unknown;
  arrayParser: unknown;
};
const pgpass = require(`${shims}/pgpass.cjs`) as (connection: object, callback: (password?: string) => void) => void;
const { signatureAlgorithmHashFromCertificate } = require(`${shims}/pg-cert-signatures.cjs`) as {
  signatureAlgorithmHashFromCertificate(certificate: Buffer): string;
};

/** Text-format values PostgreSQL sends, by type oid (`SELECT oid, typname FROM pg_type`). */
const SAMPLES: Array<[number, string]> = [
  [16, 't'], // bool
  [20, '9007199254740993'], // int8: a string, not a rounded number
  [21, '-7'], // int2
  [23, '42'], // int4
  [26, '1259'], // oid
  [700, '1.5'], // float4
  [701, '2.25'], // float8
  [1700, '12345678901234567890.5'], // numeric: a string
  [25, 'text'], // text
  [2950, '0b6d3c2e-4a59-4d44-9a4c-2f8d9b7c5e11'], // uuid
  [114, '{"a":[1,"x"]}'], // json
  [3802, '{"duration": 100}'], // jsonb
  [1082, '2026-12-02'], // date
  [1114, '2026-12-02 03:04:05.678'], // timestamp
  [1184, '2026-12-02 03:04:05.678+08'], // timestamptz
  [1186, '1 day 02:03:04'], // interval
  [17, '\\x0001ff'], // bytea
  [1007, '{1,2,NULL}'], // int4[]
  [1016, '{9007199254740993}'], // int8[]
  [1009, '{"a b",c}'], // text[]
  [3807, '{"{\\"a\\": 1}"}'], // jsonb[]
  [1185, '{"2026-12-02 03:04:05+00"}'], // timestamptz[]
];

test('the text-format parsers are pg-types’ own, for every type the functions read and more', () => {
  for (const [oid, text] of SAMPLES) {
    const expected = realTypes.getTypeParser(oid, 'text')(text);
    expect([oid, shimTypes.getTypeParser(oid, 'text')(text)]).toEqual([oid, expected]);
    expect([oid, shimTypes.getTypeParser(oid)(text)]).toEqual([oid, expected]);
  }
  for (const oid of Object.values(realTypes.builtins)) {
    expect([oid, typeof shimTypes.getTypeParser(oid, 'text')]).toEqual([oid, 'function']);
  }
  expect(shimTypes.getTypeParser(999_999, 'text')('7')).toBe('7'); // an unknown type: its text
  expect(shimTypes.builtins).toBe(realTypes.builtins);
  expect(shimTypes.arrayParser).toBe(realTypes.arrayParser);
});

test('a type parser set through the shim is the one returned (pg.types.setTypeParser)', () => {
  const parse: Parse = (value) => `parsed:${value}`;
  const previous = shimTypes.getTypeParser(600, 'text');
  shimTypes.setTypeParser(600, parse);
  try {
    expect(shimTypes.getTypeParser(600, 'text')('(1,2)')).toBe('parsed:(1,2)');
  } finally {
    shimTypes.setTypeParser(600, 'text', previous);
  }
});

test('what the shims leave out fails loudly: binary results, channel binding; pgpass finds no password file', () => {
  expect(() => shimTypes.getTypeParser(23, 'binary')).toThrow(/binary result format/);
  expect(() => shimTypes.setTypeParser(23, 'binary', String)).toThrow(/binary result format/);
  expect(() => signatureAlgorithmHashFromCertificate(Buffer.alloc(0))).toThrow(/channel binding/);
  const answers: unknown[] = [];
  pgpass({ host: 'db', user: 'app' }, (password: unknown) => answers.push(password));
  expect(answers).toEqual([undefined]);
});
