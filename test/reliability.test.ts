/** The reliability campaigns keep their rules on a small run (the full run is npm run reliability). */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DATA_DIR } from '../src/node/config';
import { runModelCampaign } from '../src/reliability/model-campaign';
import { runParserCampaign } from '../src/reliability/parser-campaign';
import { renderReliability } from '../src/reliability/report';

describe('reliability campaigns', () => {
  it('damaged real logs are read well-formed or refused naming the file; damaged models are all refused with typed errors', async () => {
    const parser = runParserCampaign(readFileSync(`${DEFAULT_DATA_DIR}/sp.csv.gz`), { cases: 220, rows: 120, seed: 3 });
    expect(parser.failures).toEqual([]);
    expect(Object.keys(parser.byKind)).toHaveLength(11);
    expect(Object.values(parser.byKind).every((k) => k.read + k.refused === k.cases)).toBe(true);
    const dir = 'public/models/behavegpt-us';
    const model = await runModelCampaign(
      {
        manifestText: readFileSync(`${dir}/model.json`, 'utf8'),
        shard: new Uint8Array(readFileSync(`${dir}/weights-shard1of1.bin`)),
      },
      { cases: 130, seed: 3, source: dir },
    );
    expect(model.failures).toEqual([]);
    expect(Object.values(model.byKind).every((k) => k.refused === k.cases && k.cases > 0)).toBe(true);
    const md = renderReliability({
      commit: 'abc',
      date: '2026-01-01T00:00:00Z',
      load: { start: 1, end: 1 },
      parser,
      model,
      browser: null,
    });
    expect(md).toContain(`| import parser, damaged real logs (first 120 rows of SmartThings Spain) | 220 | 0 |`);
    expect(md).toContain('Not run');
  });

  it('counts a damaged model that passes the checks as a failure (the oracle can fail)', async () => {
    const dir = 'public/models/behavegpt-us';
    const manifestText = readFileSync(`${dir}/model.json`, 'utf8');
    // A "clean" model whose checks are void: a manifest without sizes and hashes lets shard bit flips through.
    const m = JSON.parse(manifestText);
    delete m.weightsManifest[0].byteLengths;
    delete m.weightsManifest[0].sha256;
    const model = await runModelCampaign(
      { manifestText: JSON.stringify(m), shard: new Uint8Array(readFileSync(`${dir}/weights-shard1of1.bin`)) },
      { cases: 26, seed: 1, source: dir },
    );
    expect(model.byKind['shard bits flipped'].failures).toBeGreaterThan(0);
    expect(model.failures.some((f) => f.problem === 'a damaged model was accepted')).toBe(true);
  });
});
