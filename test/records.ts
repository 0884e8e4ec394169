/** Run records made up for tests of the experiments' choices and reports. */
import { runId, type RecordLookup, type RunRecord, type RunSpec } from '../src/node/run-spec';

/** A finished run with the given valid and test (all targets) figures; no-refresh equals all unless given. */
export function fakeRecord(
  spec: RunSpec,
  valid: Record<string, number>,
  test: Record<string, number> = {},
  extra: Partial<RunRecord> = {},
): RunRecord {
  return {
    id: runId(spec),
    spec,
    parameters: 1000,
    valid: { loss: 1, ...valid },
    test: { all: test, 'no-refresh': test },
    testLoss: 1,
    bestEpoch: 1,
    epochsRun: 2,
    steps: 10,
    seconds: 1,
    date: '2030-01-01T00:00:00.000Z',
    commit: 'test',
    ...extra,
  };
}

/** Records in memory, found by id as in a records folder. */
export function lookupOf(records: readonly RunRecord[]): RecordLookup {
  const byId = new Map(records.map((r) => [r.id, r]));
  return (spec) => byId.get(runId(spec)) ?? null;
}
