"""The threads sync handlers run in. ThreadPoolExecutor makes a Future, a work item and a lock
per call; a warm call is only a few microseconds of Ferry's own work, so this pool feeds its
threads from one SimpleQueue (implemented in C) instead. Threads start as calls need them, up to
`size`, and stay: the instance's lifetime is the pool's."""

import queue
import threading


class Workers:
    __slots__ = ('size', 'queue', 'threads', 'waiting', 'pending', 'lock', 'name')

    def __init__(self, size, name='ferry-handler'):
        self.size = size
        self.queue = queue.SimpleQueue()
        self.threads = 0
        self.waiting = 0  # threads blocked in get()
        self.pending = 0  # calls put and not yet taken
        self.lock = threading.Lock()
        self.name = name

    def submit(self, fn, *args):
        """Runs fn(*args) on a pool thread; never blocks. Raises RuntimeError only when no thread
        exists and none can start (the instance is at its process limit): the call is not queued."""
        with self.lock:
            self.pending += 1
            # A thread more only when the waiting ones cannot take every call not yet taken.
            start = self.pending > self.waiting and self.threads < self.size
            if start:
                self.threads += 1
        if start:
            try:
                threading.Thread(target=self._work, name=f'{self.name}-{self.threads}', daemon=True).start()
            except RuntimeError:
                # At limits.pids (a handler that forked up to it): a running thread takes the
                # call once it is free; with none, the call fails, not the instance.
                with self.lock:
                    self.threads -= 1
                    if self.threads == 0:
                        self.pending -= 1
                        raise
        self.queue.put((fn, args))

    def _work(self):
        take = self.queue.get
        lock = self.lock
        while True:
            with lock:
                self.waiting += 1
            fn, args = take()
            with lock:
                self.waiting -= 1
                self.pending -= 1
            fn(*args)  # the caller's fn handles its own errors
