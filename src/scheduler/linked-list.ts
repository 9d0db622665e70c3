/**
 * An intrusive doubly linked list: the nodes carry their own `prev`/`next`
 * and the list they are in. The scheduler's queues need O(1) push, shift
 * *and* removal from the middle (a waiter that times out or is aborted), and
 * `Array#shift` is O(n) over long queues; an intrusive list also allocates
 * nothing per operation.
 *
 * A node is in at most one list at a time (the scheduler moves a job from
 * its key queue to its tenant queue to the global ring, never holding two).
 */

export interface ListNode<N extends ListNode<N>> {
  prev: N | undefined;
  next: N | undefined;
  list: LinkedList<N> | undefined;
}

export class LinkedList<N extends ListNode<N>> {
  head: N | undefined = undefined;
  tail: N | undefined = undefined;
  size = 0;

  push(node: N): void {
    node.list = this;
    node.prev = this.tail;
    node.next = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size++;
  }

  shift(): N | undefined {
    const node = this.head;
    if (node !== undefined) this.remove(node);
    return node;
  }

  /** Removes `node`, which must be in this list (checked: a stale removal is a no-op). */
  remove(node: N): void {
    if (node.list !== this) return;
    const { prev, next } = node;
    if (prev === undefined) this.head = next;
    else prev.next = next;
    if (next === undefined) this.tail = prev;
    else next.prev = prev;
    node.prev = undefined;
    node.next = undefined;
    node.list = undefined;
    this.size--;
  }
}
