import { beforeAll, describe, expect, it } from 'vitest';
import { DroState, klDivergence, tilt, worstCaseDistribution } from '../src/core/dro';
import { initNodeBackend, tf } from '../src/node/tf';
import { createObjective, crossEntropy } from '../src/train/losses';

const sum = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0);

describe('class DRO weights', () => {
  const counts = [0, 600, 300, 90, 10]; // id 0: a special token, never a target

  it('uniform losses give the reference distribution (the empirical one when tailMix = 0)', () => {
    const state = new DroState(counts, { radius: 0.5, tailMix: 0 });
    const q = state.distribution();
    expect(Array.from(q).map((x) => +x.toFixed(6))).toEqual([0, 0.6, 0.3, 0.09, 0.01]);
    expect(Array.from(state.weights()).map((x) => +x.toFixed(6))).toEqual([0, 1, 1, 1, 1]);
  });

  it('a class with higher loss gains weight; weights form a distribution inside the ball', () => {
    const state = new DroState(counts, { radius: 0.3, tailMix: 0.1, emaRate: 1 });
    const before = state.distribution();
    state.observe([1, 2, 3, 4], [0.5, 0.5, 3.0, 0.5]);
    const q = state.distribution();
    expect(sum(q)).toBeCloseTo(1, 10);
    expect(Array.from(q).every((x) => x >= 0)).toBe(true);
    expect(q[3]).toBeGreaterThan(before[3] * 2);
    expect(q[1]).toBeLessThan(before[1]);
    expect(klDivergence(q, state.reference)).toBeCloseTo(0.3, 6);
    expect(state.weights()[3]).toBeGreaterThan(state.weights()[1]);
  });

  it('tail mixing gives rare classes a floor in the reference', () => {
    const state = new DroState(counts, { tailMix: 0.2 });
    expect(state.reference[4]).toBeCloseTo(0.8 * 0.01 + 0.2 / 4, 10);
    expect(state.reference[0]).toBe(0);
  });

  it('radius 0 returns the reference exactly; huge radius approaches the worst class', () => {
    const pi = [0.5, 0.3, 0.2];
    const losses = [1, 2, 5];
    expect(Array.from(worstCaseDistribution(pi, losses, 0))).toEqual(pi);
    expect(worstCaseDistribution(pi, losses, 50)[2]).toBeGreaterThan(0.999);
    const t = tilt(pi, losses, 1);
    expect(t[2] / t[0]).toBeCloseTo((0.2 / 0.5) * Math.exp(4), 6);
  });

  it('clips weights at maxWeight', () => {
    const state = new DroState([0, 990, 10], { radius: 5, tailMix: 0, emaRate: 1, maxWeight: 7 });
    state.observe([1, 2], [0.1, 4]);
    expect(state.weights()[2]).toBe(7);
  });
});

describe('objectives', () => {
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });
  const logits = () =>
    tf.tensor2d([
      [-1e9, 2, 0.5, -1],
      [-1e9, 0.1, 0.2, 3],
      [-1e9, 1, 1, 1],
    ]);
  const targets = Int32Array.from([1, 3, -1]);
  const counts = [0, 50, 30, 20];
  const special = (i: number) => i === 0;

  it('DRO with radius 0 and no tail mix equals plain cross-entropy', async () => {
    const ce = await crossEntropy(logits() as tf.Tensor2D, targets).data();
    const dro = createObjective({ name: 'dro', dro: { radius: 0, tailMix: 0 } }, counts, special);
    const value = await dro.loss(logits() as tf.Tensor2D, targets).data();
    expect(value[0]).toBeCloseTo(ce[0], 6);
    // Hand check: mean of −log softmax at the two counted targets.
    const lse = (xs: number[]) => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
    expect(ce[0]).toBeCloseTo((lse([2, 0.5, -1]) - 2 + (lse([0.1, 0.2, 3]) - 3)) / 2, 5);
    dro.dispose();
  });

  it('logit adjustment adds τ·log prior; class-balanced weights sum to the class count', async () => {
    const la = createObjective({ name: 'logit-adjusted', tau: 1 }, counts, special);
    const lse = (xs: number[]) => Math.log(xs.reduce((s, x) => s + Math.exp(x), 0));
    const adj = [2 + Math.log(0.5), 0.5 + Math.log(0.3), -1 + Math.log(0.2)];
    const adj2 = [0.1 + Math.log(0.5), 0.2 + Math.log(0.3), 3 + Math.log(0.2)];
    const expected = (lse(adj) - adj[0] + (lse(adj2) - adj2[2])) / 2;
    expect((await la.loss(logits() as tf.Tensor2D, targets).data())[0]).toBeCloseTo(expected, 5);
    const cb = createObjective({ name: 'class-balanced', beta: 0.9 }, counts, special);
    const w = cb.classWeights()!;
    expect(w[0]).toBe(0);
    expect(sum(w)).toBeCloseTo(3, 10);
    expect(w[3]).toBeGreaterThan(w[1]);
    la.dispose();
    cb.dispose();
  });

  it('DRO with τ weights logit-adjusted losses: radius 0 equals logit-adjusted CE, and its class losses are the adjusted ones', async () => {
    const la = createObjective({ name: 'logit-adjusted', tau: 0.5 }, counts, special);
    const droLa = createObjective({ name: 'dro', tau: 0.5, dro: { radius: 0, tailMix: 0 } }, counts, special);
    const plainDro = createObjective({ name: 'dro', dro: { radius: 0, tailMix: 0 } }, counts, special);
    const expected = (await la.loss(logits() as tf.Tensor2D, targets).data())[0];
    expect((await droLa.loss(logits() as tf.Tensor2D, targets).data())[0]).toBeCloseTo(expected, 6);
    expect((await plainDro.loss(logits() as tf.Tensor2D, targets).data())[0]).not.toBeCloseTo(expected, 3);
    // With a radius, the tilt follows the adjusted losses: the two objectives weight classes differently.
    const tilted = createObjective(
      { name: 'dro', tau: 0.5, dro: { radius: 0.5, tailMix: 0, emaRate: 1 } },
      counts,
      special,
    );
    const untilted = createObjective({ name: 'dro', dro: { radius: 0.5, tailMix: 0, emaRate: 1 } }, counts, special);
    for (const o of [tilted, untilted]) {
      o.loss(logits() as tf.Tensor2D, targets);
      await o.afterStep();
    }
    expect(tilted.classWeights()![1]).not.toBeCloseTo(untilted.classWeights()![1], 3);
    for (const o of [la, droLa, plainDro, tilted, untilted]) o.dispose();
  });

  it('DRO updates its class weights from observed losses after each step', async () => {
    const dro = createObjective({ name: 'dro', dro: { radius: 0.5, tailMix: 0, emaRate: 1 } }, counts, special);
    const before = dro.classWeights()!;
    dro.loss(logits() as tf.Tensor2D, targets);
    await dro.afterStep();
    const after = dro.classWeights()!;
    // Class 1 was predicted well (low loss), class 3 too; class 2 unobserved keeps its initial (high) loss.
    expect(after[2]).toBeGreaterThan(before[2]);
    dro.dispose();
  });
});

describe('effective-number prior', () => {
  it('centres the ball on the class-balanced distribution', () => {
    const counts = [0, 900, 100];
    const state = new DroState(counts, { radius: 0, tailMix: 0, priorBeta: 0.99 });
    const w = (n: number) => (n * 0.01) / (1 - 0.99 ** n);
    expect(state.reference[1]).toBeCloseTo(w(900) / (w(900) + w(100)), 10);
    // Radius 0: the weights are the class-balanced ratio π/p, larger for the rarer class.
    expect(state.weights()[2] / state.weights()[1]).toBeCloseTo((1 - 0.99 ** 900) / (1 - 0.99 ** 100), 6);
  });
});
