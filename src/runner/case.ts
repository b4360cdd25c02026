/**
 * A policy case file's cases and what each one expects
 * (docs/testing-policies.md has the format), as case-file.ts reads them
 * and expect.ts compares them with a dry run.
 */
import type { Position } from '../diagnostics.js';
import type { Phase } from '../session/phases.js';
import type { DryRunConnection, ModuleSettings, PhaseSource } from './session.js';
import type { AuthStub } from './auth-stub.js';
import type { CbvStubs, DnsStubs, SeenId } from './stubs.js';

/** A text pattern: a string written /.../flags is a regular expression, any other must match exactly. */
export type Pattern = { exact: string } | { regex: RegExp; source: string };

export interface PhaseExpectation {
  at: Position;
  code?: number;
  /** Matched against the whole reply as the client reads it ("550 5.7.1 text"). */
  reply?: Pattern;
  actions?: string[];
  implicitKeep?: boolean;
  /** null: the variable must be unset. Message context first, then connection context. */
  variables?: Record<string, Pattern | null>;
  /** The addresses verified during the phase, in order. */
  cbvCalls?: string[];
  /** A runtime error is expected (and then allowed). */
  error?: Pattern;
  /** The phase must not be reached. */
  reached?: boolean;
}

export interface Case {
  name: string;
  at: Position;
  phases?: Phase[];
  connection: DryRunConnection;
  context: Record<string, string>;
  envelope: { from: string; to: string[] };
  message?: string;
  cbv: CbvStubs;
  /** Canned verdicts for smtp_recipient_verify. */
  recipientVerify: CbvStubs;
  dns: DnsStubs;
  /** What SPF, DKIM, ARC and DMARC concluded. */
  authentication: AuthStub;
  /** Ids RFC 7352's duplicate list already holds, as earlier messages left them. */
  duplicates: SeenId[];
  /** By phase: one expectation for every run of the phase, or (rcptto) one per recipient. */
  expect: Partial<Record<Phase, PhaseExpectation | PhaseExpectation[]>>;
}

export interface CaseFile {
  file: string;
  config?: string;
  scripts?: Partial<Record<Phase, PhaseSource>>;
  cbvModule?: ModuleSettings;
  cases: Case[];
}
