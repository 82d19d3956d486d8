import { typicalForwardingEffect, type Round } from '../bench/audit-assurance';

// How the forwarding bench sizes an effect over many rounds: the typical round's factor. A round's
// p99 rests on a few appends, so one round in a slow spell of the host must not make the size.

const round = (factor: number): Round => ({ A: 100, on: 100 * factor, B: 100 });

describe('sizing the effect of forwarding', () => {
  test('rounds all 10% slower with forwarding size at +10%, the interval with them', () => {
    const e = typicalForwardingEffect(Array.from({ length: 12 }, () => round(1.1)));
    expect(e.mean).toBeCloseTo(0.1, 10);
    expect(e.interval[0]).toBeCloseTo(0.1, 10);
    expect(e.interval[1]).toBeCloseTo(0.1, 10);
  });

  test('one round three times slower among even ones does not make forwarding 3x slower; a threefold speed-up cancels it', () => {
    const even = Array.from({ length: 11 }, () => round(1));
    const spell = typicalForwardingEffect([...even, round(3)]);
    // An average of ratios would say +16.7% (2/12); the typical round is about 9.6% slower.
    expect(spell.mean).toBeCloseTo(3 ** (1 / 12) - 1, 10);
    expect(spell.interval[0]).toBeLessThanOrEqual(0);
    expect(typicalForwardingEffect([...even.slice(1), round(3), round(1 / 3)]).mean).toBeCloseTo(0, 10);
  });

  test('a round whose phases without forwarding differ widely, the one with it between them, sizes at 0, not faster', () => {
    // Against the mean of the two without (125) it would look 20% faster.
    expect(typicalForwardingEffect([{ A: 50, on: 100, B: 200 }]).mean).toBeCloseTo(0, 10);
  });
});
