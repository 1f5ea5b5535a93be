// The simulator's events in time order: a binary min-heap on (atMs, seq). `seq` is the order
// events were scheduled in, so two events at the same instant run in that order and a run replays
// exactly from its seed. Push and pop cost O(log n); a linear scan cost O(n) per event, and a
// swarm of seeds runs millions of them.
export interface SimEvent {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
  /** What the event is, for the message of a broken invariant ("deliver vote 0→2"). */
  readonly what: string;
}

export class EventQueue {
  private readonly heap: SimEvent[] = [];

  get size(): number {
    return this.heap.length;
  }

  push(event: SimEvent): void {
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  /** The earliest event, if it is due at or before `untilMs`; removed from the queue. */
  popUntil(untilMs: number): SimEvent | null {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined || top.atMs > untilMs) return null;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
