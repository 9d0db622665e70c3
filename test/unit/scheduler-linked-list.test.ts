import { describe, expect, it } from 'vitest';
import { LinkedList, type ListNode } from '../../src/scheduler/linked-list.js';

class Node implements ListNode<Node> {
  prev: Node | undefined = undefined;
  next: Node | undefined = undefined;
  list: LinkedList<Node> | undefined = undefined;
  constructor(readonly id: number) {}
}

function ids(list: LinkedList<Node>): number[] {
  const out: number[] = [];
  for (let n = list.head; n !== undefined; n = n.next) out.push(n.id);
  return out;
}

describe('LinkedList', () => {
  it('is FIFO through push and shift', () => {
    const list = new LinkedList<Node>();
    for (let i = 1; i <= 3; i++) list.push(new Node(i));

    const shifted = [list.shift()?.id, list.shift()?.id];

    expect(shifted).toEqual([1, 2]);
    expect(ids(list)).toEqual([3]);
    expect(list.size).toBe(1);
  });

  it('removes from the head, the middle and the tail, keeping links consistent', () => {
    const list = new LinkedList<Node>();
    const nodes = [1, 2, 3, 4, 5].map((i) => new Node(i));
    for (const n of nodes) list.push(n);

    list.remove(nodes[2]!);
    list.remove(nodes[0]!);
    list.remove(nodes[4]!);

    expect(ids(list)).toEqual([2, 4]);
    expect(list.head?.prev).toBeUndefined();
    expect(list.tail?.next).toBeUndefined();
    expect(list.tail?.prev).toBe(list.head);
    expect(list.size).toBe(2);
    expect(nodes[2]!.list).toBeUndefined();
  });

  it('ignores removing a node that is not in the list', () => {
    const a = new LinkedList<Node>();
    const b = new LinkedList<Node>();
    const n = new Node(1);
    a.push(n);

    b.remove(n);
    a.remove(n);
    a.remove(n);

    expect(a.size).toBe(0);
    expect(b.size).toBe(0);
    expect(a.head).toBeUndefined();
    expect(a.shift()).toBeUndefined();
  });

  it('lets a removed node join another list', () => {
    const a = new LinkedList<Node>();
    const b = new LinkedList<Node>();
    const n = new Node(7);
    a.push(n);
    a.remove(n);

    b.push(n);

    expect(ids(b)).toEqual([7]);
    expect(n.list).toBe(b);
  });
});
