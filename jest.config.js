/** Jest runs TypeScript through @swc/jest (no type-check: `npm run typecheck` does that). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  moduleNameMapper: { '^#contract$': '<rootDir>/contract/index.ts', '^#lib/(.*)$': '<rootDir>/lib/$1' },
  testTimeout: 30000,
  maxWorkers: 2,
};
