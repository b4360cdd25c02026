/**
 * The dry-run runner's public face: play SMTP sessions against a
 * policy offline, from TypeScript, case files or the command line.
 * docs/testing-policies.md describes it.
 */
export { dryRun, preparePolicy, replyText, type DryRunOptions, type DryRunResult, type PhaseResult, type PreparedPolicy, type ScriptOutcome, type TraceLine } from './dry-run.js';
export type { DryRunConnection, ModuleSettings, PhaseSource, ScriptSource } from './session.js';
export { StubVerifier, verdictOf, type CbvCall, type CbvStub, type CbvStubs, type DnsCall, type DnsStubs, type SeenId } from './stubs.js';
export { loadCaseFile, parseCaseFile } from './case-file.js';
export type { Case, CaseFile, PhaseExpectation } from './case.js';
export { runCaseFile, type CaseFileReport } from './run-cases.js';
export { Coverage } from './coverage.js';
export { formatDryRun } from './report.js';
