#if canImport(Glibc)
import CLinux
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Something registered with an event loop for readiness events on one file descriptor.
public protocol EventHandler: AnyObject {
    func handleEvents(_ events: UInt32)
}

public enum Readiness {
    public static let readable = UInt32(EPOLLIN.rawValue)
    public static let writable = UInt32(EPOLLOUT.rawValue)
    public static let peerClosed = UInt32(EPOLLRDHUP.rawValue)
    public static let hangUp = UInt32(EPOLLHUP.rawValue)
    public static let error = UInt32(EPOLLERR.rawValue)
}

/// One epoll loop on one thread. Everything it owns (handlers, timers, connections, curl handles) is touched
/// only from that thread; other threads talk to it through `execute`, which is the only locked path.
public final class EventLoop: @unchecked Sendable {
    public let index: Int
    private let epoll: FileDescriptor
    private let wakeup: FileDescriptor
    private var handlers: [EventHandler?] = []
    private var timers = TimerQueue()
    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private var isRunning = true
    private var threadID: pthread_t?

    /// A read buffer shared by every connection on this loop: bytes are copied out before the next read.
    public var readScratch = [UInt8](repeating: 0, count: 64 * 1024)

    public init(index: Int) throws(SystemError) {
        self.index = index
        epoll = FileDescriptor(try syscall("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) })
        wakeup = FileDescriptor(try syscall("eventfd") { eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)) })
        try add(fd: wakeup.rawValue, events: Readiness.readable, handler: nil)
    }

    public var inLoopThread: Bool {
        guard let threadID else { return false }
        return pthread_equal(threadID, pthread_self()) != 0
    }

    /// Debug builds stop at once when loop-confined state is touched from another thread (swift-nio's
    /// NIOLoopBound does the same); before the loop runs, its owner may still set it up from anywhere.
    @inlinable
    public func assertInLoopThread(file: StaticString = #fileID, line: UInt = #line) {
        assert(!isStarted || inLoopThread, "loop-confined state touched off event loop \(index)", file: file, line: line)
    }

    public var isStarted: Bool { threadID != nil }

    // MARK: Registration (loop thread only)

    public func register(fd: Int32, events: UInt32, handler: EventHandler) throws(SystemError) {
        assertInLoopThread()
        try add(fd: fd, events: events, handler: handler)
    }

    private func add(fd: Int32, events: UInt32, handler: EventHandler?) throws(SystemError) {
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        try syscall("epoll_ctl(ADD)") { epoll_ctl(epoll.rawValue, EPOLL_CTL_ADD, fd, &event) }
        let slot = Int(fd)
        if slot >= handlers.count { handlers.append(contentsOf: repeatElement(nil, count: slot - handlers.count + 1)) }
        handlers[slot] = handler
    }

    public func modify(fd: Int32, events: UInt32) {
        assertInLoopThread()
        var event = epoll_event(events: events, data: epoll_data_t(fd: fd))
        _ = epoll_ctl(epoll.rawValue, EPOLL_CTL_MOD, fd, &event)
    }

    /// Removes the descriptor; the caller closes it afterwards.
    public func unregister(fd: Int32) {
        assertInLoopThread()
        _ = epoll_ctl(epoll.rawValue, EPOLL_CTL_DEL, fd, nil)
        if Int(fd) < handlers.count { handlers[Int(fd)] = nil }
    }

    // MARK: Timers (loop thread only)

    @discardableResult
    public func schedule(after delay: Interval, _ action: @escaping () -> Void) -> TimerID {
        assertInLoopThread()
        return timers.add(deadline: .now + delay, action: action)
    }

    public func cancel(_ timer: TimerID) {
        assertInLoopThread()
        timers.remove(timer)
    }

    /// Milliseconds epoll may sleep before the next timer is due (-1: no timer).
    private func nextTimeoutMilliseconds() -> Int32 {
        guard let deadline = timers.earliestDeadline else { return -1 }
        let now = MonotonicInstant.now
        guard deadline > now else { return 0 }
        return Int32(clamping: ((deadline - now).nanoseconds + 999_999) / 1_000_000)
    }

    private func runDueTimers() {
        let now = MonotonicInstant.now
        while let action = timers.popDue(now: now) { action() }
    }

    // MARK: Cross-thread

    /// Runs `task` on the loop thread soon. Safe from any thread.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(task) }
        var one: UInt64 = 1
        _ = write(wakeup.rawValue, &one, 8)
    }

    public func stop() {
        execute { [unowned self] in self.isRunning = false }
    }

    private func drainInbox() {
        var counter: UInt64 = 0
        _ = read(wakeup.rawValue, &counter, 8)
        let tasks = inbox.withLock { tasks in
            defer { tasks.removeAll() }
            return tasks
        }
        for task in tasks { task() }
    }

    // MARK: Running

    /// Runs until `stop()`; call on the thread that will own the loop.
    public func run() {
        threadID = pthread_self()
        let capacity: Int32 = 512
        var events = [epoll_event](repeating: epoll_event(), count: Int(capacity))
        let wakeFD = wakeup.rawValue
        while isRunning {
            let timeout = nextTimeoutMilliseconds()
            let count = events.withUnsafeMutableBufferPointer { buffer in
                epoll_wait(epoll.rawValue, buffer.baseAddress, capacity, timeout)
            }
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            for i in 0..<Int(count) {
                let fd = events[i].data.fd
                if fd == wakeFD {
                    drainInbox()
                } else if Int(fd) < handlers.count, let handler = handlers[Int(fd)] {
                    handler.handleEvents(events[i].events)
                }
            }
            runDueTimers()
        }
    }
}

/// A value that belongs to one event loop's thread, carried through `@Sendable` closures that will run
/// on that loop. The compiler cannot see loop confinement; this type is where we state it, and debug
/// builds check it on every access.
public final class LoopBound<Value>: @unchecked Sendable {
    public let loop: EventLoop
    private var storage: Value

    public init(_ value: Value, on loop: EventLoop) {
        self.loop = loop
        self.storage = value
    }

    public var value: Value {
        get {
            loop.assertInLoopThread()
            return storage
        }
        set {
            loop.assertInLoopThread()
            storage = newValue
        }
    }
}
