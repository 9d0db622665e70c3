import { describe, expect, it } from 'vitest';
import { roundOrder } from '../../bench/gateway.js';

const PATHS = ['bare', 'replyFrom', 'gateway', 'statusOpen', 'unsigned', 'direct'].map((id) => ({
  id,
}));
const PAIR = ['gateway', 'statusOpen'] as const;
const ids = (round: number) => roundOrder(PATHS, round, PAIR).map((t) => t.id);

describe('roundOrder (bench/gateway.ts)', () => {
  it('runs every path once per round, and starts each round with another path', () => {
    // Act
    const rounds = PATHS.map((_, r) => ids(r));

    // Assess
    for (const order of rounds) expect([...order].sort()).toEqual(PATHS.map((p) => p.id).sort());
    const firsts = rounds.map((order) => order[0]);
    expect([...firsts].sort()).toEqual(PATHS.map((p) => p.id).sort());
  });

  it('lets the status page closed and open each go first in half of an even number of rounds', () => {
    // Act
    const closedFirst = [0, 1, 2, 3, 4, 5].filter(
      (r) => ids(r).indexOf('gateway') < ids(r).indexOf('statusOpen'),
    );

    // Assess: not gateway-then-open in five rounds of six, as plain rotation would give
    expect(closedFirst).toEqual([0, 2, 4]);
  });

  it('leaves the other paths where the rotation puts them', () => {
    // Act
    const order = ids(1);

    // Assess: rotated by one, then the pair swapped
    expect(order).toEqual(['replyFrom', 'statusOpen', 'gateway', 'unsigned', 'direct', 'bare']);
  });
});
