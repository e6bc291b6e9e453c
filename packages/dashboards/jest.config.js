/** @type {import('jest').Config} */
module.exports = {
  displayName: 'dashboards',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    // 151002: ts-jest's note that Node16 modules want isolatedModules; we keep full type checking instead.
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.test.json', diagnostics: { ignoreCodes: [151002] } }],
  },
};
