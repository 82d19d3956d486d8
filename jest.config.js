/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  // swc strips types (tsc --noEmit type-checks) and turns ESM-only lowdb into CommonJS for jest.
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(lowdb|steno)/)'],
  testTimeout: 30000,
  // The PowerShell backend suite leaves a handle open after its last test (seen in CI, where it
  // runs on pwsh and the engine host; not yet traced); on a 2-core machine jest runs in band, so
  // it would never exit. Exit once the run is reported; the leak is in test teardown.
  forceExit: true,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
};
