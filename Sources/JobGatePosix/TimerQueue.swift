/// A loop's timers: a binary min-heap of deadlines whose entries know their place, so a cancelled timer leaves
/// the heap at once. With lazy deletion (a cancelled entry dropped only once it reached the top) every timer
/// libcurl re-armed and cancelled during a call stayed in the heap until its deadline, so the heap's size
/// followed the request rate times the timeouts rather than the calls in flight. Actions live in reusable
/// slots; an ID names a slot and the slot's use, so cancelling a timer that already ran (its slot since
/// reused) does nothing.
struct TimerQueue {
    private struct Slot {
        var generation: UInt32 = 0
        /// Where the slot's entry is in `heap`; nil while the slot is free.
        var heapIndex: Int?
        var action: (() -> Void)?
    }

    private var heap: [(deadline: MonotonicInstant, slot: Int)] = []
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []

    var count: Int { heap.count }

    var earliestDeadline: MonotonicInstant? { heap.first?.deadline }

    mutating func add(deadline: MonotonicInstant, action: @escaping () -> Void) -> TimerID {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
        } else {
            slot = slots.count
            slots.append(Slot())
        }
        slots[slot].generation &+= 1
        slots[slot].action = action
        heap.append((deadline, slot))
        slots[slot].heapIndex = heap.count - 1
        siftUp(heap.count - 1)
        return TimerID(slot: slot, generation: slots[slot].generation)
    }

    mutating func remove(_ timer: TimerID) {
        guard timer.slot < slots.count, slots[timer.slot].generation == timer.generation,
              let index = slots[timer.slot].heapIndex else { return }
        removeEntry(at: index)
    }

    /// The action of the earliest timer due by `now`, taken out of the queue; nil when none is due.
    mutating func popDue(now: MonotonicInstant) -> (() -> Void)? {
        guard let first = heap.first, first.deadline <= now else { return nil }
        let action = slots[first.slot].action
        removeEntry(at: 0)
        return action
    }

    private mutating func removeEntry(at index: Int) {
        let slot = heap[index].slot
        slots[slot].heapIndex = nil
        slots[slot].action = nil
        freeSlots.append(slot)
        let last = heap.removeLast()
        guard index < heap.count else { return }
        heap[index] = last
        slots[last.slot].heapIndex = index
        siftDown(index)
        siftUp(index)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { return }
            swapEntries(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            if smallest == parent { return }
            swapEntries(parent, smallest)
            parent = smallest
        }
    }

    private mutating func swapEntries(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        slots[heap[a].slot].heapIndex = a
        slots[heap[b].slot].heapIndex = b
    }
}

public struct TimerID: Hashable, Sendable {
    let slot: Int
    let generation: UInt32
}
