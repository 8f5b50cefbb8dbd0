"""Per-request log lines for the Python shim: stands in for sys.stdout / sys.stderr so that output
written while a request is handled reaches the host as `\\x1e<request id>\\x1f<line>\\n`, one line
per write, and the host can attribute it. Part of the shim; copied next to shim.py."""

import contextvars
import os
import sys
import threading

# Set for the duration of a call: in the pool thread (sync handlers) or the task (async ones).
request_id = contextvars.ContextVar('ferry_request_id', default=None)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class _PrefixingWriter:
    """Stands in for sys.stdout / sys.stderr. Inside a request, completes lines per request id and
    writes each one as `\\x1e<id>\\x1f<line>\\n` in a single write, so concurrent requests never
    interleave within a line. Outside a request, writes pass through untouched. Never buffers a
    whole line longer than needed: a line goes out as soon as its newline is written."""

    def __init__(self, original):
        self._original = original
        self._fd = original.fileno()
        self._lock = threading.Lock()
        self._partial = {}
        self.encoding = 'utf-8'
        self.errors = 'backslashreplace'
        self.line_buffering = True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f'write() argument must be str, not {type(s).__name__}')
        rid = request_id.get()
        if rid is None:
            if s:
                with self._lock:
                    _write_all(self._fd, s.encode('utf-8', 'backslashreplace'))
            return len(s)
        with self._lock:
            pending = self._partial.pop(rid, None)
            text = pending + s if pending else s
            if '\n' not in text:
                if text:
                    self._partial[rid] = text
                return len(s)
            lines = text.split('\n')
            rest = lines.pop()
            if rest:
                self._partial[rid] = rest
            prefix = '\x1e' + rid + '\x1f'
            out = prefix + ('\n' + prefix).join(lines) + '\n'
            _write_all(self._fd, out.encode('utf-8', 'backslashreplace'))
        return len(s)

    def end_request(self, rid):
        """Writes a request's unterminated last line, so it is not lost or glued to another."""
        with self._lock:
            rest = self._partial.pop(rid, None)
            if rest:
                _write_all(self._fd, ('\x1e' + rid + '\x1f' + rest + '\n').encode('utf-8', 'backslashreplace'))

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass  # every complete line is already written

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def __getattr__(self, name):
        return getattr(self._original, name)


stdout = _PrefixingWriter(sys.__stdout__)
stderr = _PrefixingWriter(sys.__stderr__)


def end_request_output(rid):
    """Flushes the request's unterminated last lines once its handler has returned."""
    stdout.end_request(rid)
    stderr.end_request(rid)


