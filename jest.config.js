/** Runs every workspace's suite: `npm run test:ts`. */
/** @type {import('jest').Config} */
module.exports = {
  projects: ['<rootDir>/packages/protocol', '<rootDir>/collector'],
};
