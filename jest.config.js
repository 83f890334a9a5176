/** @type {import('jest').Config} */
const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: "node",
  testMatch: [`<rootDir>/__tests__/${name}/**/*.spec.ts`],
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  ...extra,
})

module.exports = {
  projects: [
    project("unit"),
    project("emulator"),
    project("processor"),
    project("e2e"),
    project("chaos"),
    project("ledger"),
  ],
}
