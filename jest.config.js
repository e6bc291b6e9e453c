/**
 * Every workspace's jest suite from the root: `npx jest` (or `npx jest collector/test/config.test.ts`).
 * Each project keeps its own jest.config.js; `npm run test:unit` runs them through scripts/test.sh.
 */
/** @type {import('jest').Config} */
module.exports = {
  projects: ['<rootDir>/packages/protocol', '<rootDir>/packages/dashboards', '<rootDir>/collector'],
};
