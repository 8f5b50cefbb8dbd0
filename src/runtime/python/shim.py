"""Ferry's Python shim: serves the frame protocol (see runtime/frames/codec.ts) on the Unix socket
in FERRY_SOCKET and calls the function named by FERRY_HANDLER (`<abs file>[:<function>]`).
Pooled (FERRY_POOLED=1, no FERRY_HANDLER): it listens at once with no function, and the LOAD frame
brings the handler, the environment and the working directory.
Check (FERRY_CHECK=1, at version creation): it loads the handler, prints one report line (the
format of runtime/shim/check-report.ts) and exits 0, serving nothing.

The interpreter runs with -S: no site-packages of the host, no user site. What a function imports
is the standard library, its package and the package's `.ferry/site` (where a build installs
the package's requirements).

Pure stdlib, Python 3.11. The event loop only moves frames; sync handlers run in a thread pool of
FERRY_CONCURRENCY workers, async handlers run on the loop. Output written while a request is being
handled is prefixed per line with `\\x1e<request id>\\x1f` (see _ferry_output.py).
"""

import asyncio
import importlib.util
import inspect
import json
import os
import signal
import sys
import threading
import traceback

# Imported before sys.path[0] (this directory) is replaced by the function's own directory.
import _ferry_output as output
import _ferry_api
from _ferry_workers import Workers
from _ferry_call import DATA, END, END_FRAME, MAX_FRAME, REQUEST, RESET, RESPONSE, STREAM_WINDOW, WINDOW, Request, Streamed, data_frames, failure, frame_head, response_frames, u32

LOAD = 6
HELLO = 8
# The first frame on every connection (codec.ts): the host calls the instance ready on it.
HELLO_FRAME = frame_head.pack(5, HELLO, 0)

# Exit codes as the node shim's: 78 the handler cannot be loaded (the version is broken), 71 the
# socket cannot be listened on, 0 after SIGTERM.
EXIT_CONFIG = 78
EXIT_LISTEN = 71
# In-flight calls get this long to finish after SIGTERM.
DRAIN_S = 5.0
# Must equal CHECK_REPORT_MARK in core/handler-check.ts.
CHECK_REPORT_MARK = '\x1eferry-check '
# Installed dependencies of the package, relative to its root.
PACKAGE_SITE = os.path.join('.ferry', 'site')


def _builtins_of_site():
    """-S skips the site module, and with it exit(), quit() and help(); code expects them."""
    try:
        import site
        site.setquit()
        site.sethelper()
    except Exception:  # noqa: BLE001 - a missing helper is no reason not to serve
        pass


# ---------------------------------------------------------------------------------------------
# Loading the handler


def _load(spec):
    """Imports the handler file and returns (callable taking a Request, is_async)."""
    path, sep, name = spec.rpartition(':')
    if not sep or not name.isidentifier():
        path, name = spec, 'handler'
    if not os.path.isabs(path):
        raise ImportError(f'FERRY_HANDLER must name an absolute file path, got {path!r}')
    # The function imports its own modules from next to its file and from the package root (cwd);
    # the shim's own directory must not shadow them.
    here = os.path.dirname(path)
    sys.path[0] = here
    if os.getcwd() != here:
        sys.path.insert(1, os.getcwd())
    site_dir = os.environ.get('FERRY_PYTHON_SITE')
    if site_dir and os.path.isdir(site_dir):
        # The dependencies installed at deploy: after the package, before the interpreter's own.
        sys.path.insert(2 if os.getcwd() != here else 1, site_dir)
    # The host's libraries (hostLibraries): after everything above, so the function's own win.
    for host_dir in os.environ.get('FERRY_PYTHON_HOST_SITE', '').split(':'):
        if host_dir and os.path.isdir(host_dir) and host_dir not in sys.path:
            sys.path.append(host_dir)
    mod_name = os.path.splitext(os.path.basename(path))[0] or 'handler'
    if mod_name in sys.modules:
        # e.g. a file named json.py: replacing the module the shim already uses would break it.
        mod_name = f'ferry_handler_{mod_name}'
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f'cannot load {path!r} as a Python module')
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module  # pickling, dataclasses and typing look the module up here
    module_spec.loader.exec_module(module)
    fn = getattr(module, name, None)
    if fn is None and hasattr(module, 'fn'):
        # tinyFaaS style: fn(input: str) -> str, called with the body as text.
        user = module.fn
        if inspect.iscoroutinefunction(user):
            async def tiny_async(req):
                return await user(req.text())
            return tiny_async, True
        return (lambda req: user(req.text())), False
    if fn is None:
        raise AttributeError(f'{path} defines no function {name!r}')
    if not callable(fn):
        raise TypeError(f'{path}: {name!r} is not callable')
    if _takes_context(fn):
        user = fn
        if inspect.iscoroutinefunction(user):
            async def with_context_async(req):
                return await user(req, _ferry_api.context_for(req))
            return with_context_async, True
        return (lambda req: user(req, _ferry_api.context_for(req))), False
    return fn, inspect.iscoroutinefunction(fn)


def _takes_context(fn):
    """`handler(request, context)`: a second positional parameter (or *args) asks for the context."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


# ---------------------------------------------------------------------------------------------
# Serving


class _Call:
    __slots__ = ('fields', 'chunks', 'task')

    def __init__(self, fields):
        self.fields = fields
        self.chunks = []
        self.task = None


async def _awaited(awaitable, rid):
    output.request_id.set(rid)
    return await awaitable


class _Connection(asyncio.Protocol):
    """One connection from the gateway; every call is a stream id on it."""

    def __init__(self, app):
        self.app = app
        self.buf = bytearray()
        self.calls = {}
        # Answers whose body still waits for credit: stream id -> [body view, credit].
        self.streams = {}
        self.transport = None
        # Frames written in one turn of the loop go out in one write (one syscall, one wake-up
        # of the gateway), as the node shim corks its socket.
        self.out = []

    def connection_made(self, transport):
        self.transport = transport
        self.app.connections.add(self)
        self.write(HELLO_FRAME)

    def write(self, data):
        out = self.out
        out.append(data)
        if len(out) == 1:
            self.app.loop.call_soon(self.flush)

    def flush(self):
        out, self.out = self.out, []
        if out and not self.transport.is_closing():
            self.transport.write(out[0] if len(out) == 1 else b''.join(out))

    def connection_lost(self, exc):
        self.app.connections.discard(self)
        self.out = []
        calls, self.calls = self.calls, {}
        self.streams.clear()
        for call in calls.values():
            if call.task:
                call.task.cancel()

    def data_received(self, data):
        buf = self.buf
        if buf:
            buf += data
            src = buf
        else:
            src = data
        n = len(src)
        off = 0
        while n - off >= 9:
            length, type_byte, cid = frame_head.unpack_from(src, off)
            if length < 5 or length > MAX_FRAME:
                print(f'ferry: frame length {length} out of range; closing the connection', file=sys.__stderr__)
                self.transport.close()
                return
            end = off + 4 + length
            if end > n:
                break
            self.frame(type_byte & 0x7F, type_byte & END, cid, src[off + 9:end])
            off = end
        if src is buf:
            del buf[:off]
        elif off < n:
            buf += src[off:]

    def frame(self, ftype, flags, cid, payload):
        if ftype == REQUEST:
            head_len = u32.unpack_from(payload, 0)[0]
            fields = bytes(payload[4:4 + head_len]).decode('utf-8', 'surrogateescape').split('\0')
            call = _Call(fields)
            self.calls[cid] = call
            if flags:
                self.start(cid, call, bytes(payload[4 + head_len:]))
            elif len(payload) > 4 + head_len:
                call.chunks.append(bytes(payload[4 + head_len:]))
        elif ftype == DATA:
            call = self.calls.get(cid)
            if call is None or call.chunks is None:
                return
            if payload:
                call.chunks.append(bytes(payload))
            if flags:
                self.start(cid, call, b''.join(call.chunks))
        elif ftype == END_FRAME:
            call = self.calls.get(cid)
            if call is not None and call.chunks is not None:
                self.start(cid, call, b''.join(call.chunks))
        elif ftype == LOAD:
            self.app.load(self, cid, payload)
        elif ftype == WINDOW:
            stream = self.streams.get(cid)
            if stream is not None and len(payload) >= 4:
                stream[1] += u32.unpack_from(payload, 0)[0]
                self.pump(cid, stream)
        elif ftype == RESET:
            self.streams.pop(cid, None)
            call = self.calls.pop(cid, None)
            if call is not None and call.task is not None:
                call.task.cancel()
            # A sync handler cannot be interrupted; its result is dropped in send().

    def start(self, cid, call, body):
        fields = call.fields
        call.chunks = None
        call.fields = None
        headers = {}
        for i in range(3, len(fields) - 1, 2):
            name = fields[i].lower()
            prev = headers.get(name)
            headers[name] = fields[i + 1] if prev is None else prev + ', ' + fields[i + 1]
        req = Request(fields[0], fields[1], fields[2], headers, body)
        app = self.app
        if app.handler is None:  # a pooled shim before its LOAD: the host never sends this
            self.send(cid, call, failure(cid, RuntimeError('no function is loaded in this instance yet')))
            return
        if app.is_async:
            call.task = app.loop.create_task(self.run_async(cid, call, req))
        else:
            try:
                app.pool.submit(self.run_sync, cid, call, req)
            except RuntimeError as exc:  # no handler thread could start
                self.send(cid, call, failure(cid, exc))

    def run_sync(self, cid, call, req):
        """Runs in a pool thread: calls the handler and encodes the answer off the event loop."""
        rid = req.request_id
        token = output.request_id.set(rid)
        try:
            if self.calls.get(cid) is not call:
                return  # cancelled while queued
            try:
                result = self.app.handler(req)
                if hasattr(result, '__await__'):
                    result = asyncio.run_coroutine_threadsafe(_awaited(result, rid), self.app.loop).result()
                frame = response_frames(cid, result)
            except BaseException as exc:  # noqa: B902 - SystemExit in a handler fails only its call
                frame = failure(cid, exc)
        finally:
            output.end_request_output(rid)
            output.request_id.reset(token)
        self.app.finished(self, cid, call, frame)

    async def run_async(self, cid, call, req):
        rid = req.request_id
        output.request_id.set(rid)  # the task runs in its own context copy
        try:
            frame = response_frames(cid, await self.app.handler(req))
        except asyncio.CancelledError:
            return
        except BaseException as exc:
            frame = failure(cid, exc)
        finally:
            output.end_request_output(rid)
        self.send(cid, call, frame)

    def send(self, cid, call, frame):
        if self.calls.get(cid) is not call:
            return  # cancelled by the host or the connection is gone
        del self.calls[cid]
        if isinstance(frame, Streamed):
            # The body follows at the pace of the host's grants (its client's pace).
            self.write(frame.head)
            stream = [frame.body, STREAM_WINDOW]
            self.streams[cid] = stream
            self.pump(cid, stream)
        else:
            self.write(frame)

    def pump(self, cid, stream):
        data = data_frames(cid, stream)
        if data:
            self.write(data)
        if not len(stream[0]):
            self.streams.pop(cid, None)


def _concurrency():
    try:
        return max(1, int(os.environ.get('FERRY_CONCURRENCY', '16')))
    except ValueError:
        return 16


class _App:
    def __init__(self, handler, is_async, loop):
        self.loop = loop
        self.connections = set()
        self.handler = None
        self.set_handler(handler, is_async)
        # Answers of sync handlers, from pool threads to the loop: one wake-up per batch.
        self.done = []
        self.done_lock = threading.Lock()

    def set_handler(self, handler, is_async):
        self.handler = handler
        self.is_async = is_async
        self.pool = None if is_async or handler is None else Workers(_concurrency())

    def load(self, conn, cid, payload):
        """LOAD of a pooled shim: the function's environment and directory, then its module."""
        try:
            if self.handler is not None:
                raise RuntimeError('a function is already loaded')
            spec = json.loads(bytes(payload))
            env, handler, cwd = spec['env'], spec['handler'], spec['cwd']
            os.environ.pop('FERRY_POOLED', None)
            os.environ.update({str(k): str(v) for k, v in env.items()})
            # The package was mounted over this directory after the process entered it: only
            # entering it again by path reaches the package.
            os.chdir(cwd)
            self.set_handler(*_load(handler))
        except BaseException as exc:  # noqa: B902 - SystemExit at import time is a load failure too
            print(f'ferry: cannot load the handler: {type(exc).__name__}: {exc}', file=sys.stderr)
            traceback.print_exception(exc)
            reason = f'{type(exc).__name__}: {exc}'.encode('utf-8', 'replace')[:4096]
            conn.transport.write(frame_head.pack(5 + len(reason), RESET, cid) + reason)
            # Half-imported user code must never serve: the host stops this instance, and it exits.
            self.loop.create_task(_exit_when_flushed(conn, EXIT_CONFIG))
            return
        head = b'200'
        conn.transport.write(frame_head.pack(9 + len(head), RESPONSE | END, cid) + u32.pack(len(head)) + head)

    def finished(self, conn, cid, call, frame):
        """From a pool thread: hands an answer to the loop, waking it only for the first of a batch."""
        with self.done_lock:
            self.done.append((conn, cid, call, frame))
            if len(self.done) > 1:
                return
        self.loop.call_soon_threadsafe(self.deliver)

    def deliver(self):
        with self.done_lock:
            done, self.done = self.done, []
        for conn, cid, call, frame in done:
            conn.send(cid, call, frame)

    def busy(self):
        """Calls still running, or answers not yet handed to the kernel."""
        return self.done or any(c.calls or c.streams or c.out or c.transport.get_write_buffer_size() for c in self.connections)


async def _exit_when_flushed(conn, code):
    """Exits once what was written to the host reached the socket (or after a second)."""
    deadline = asyncio.get_running_loop().time() + 1.0
    while conn.transport.get_write_buffer_size() and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.005)
    os._exit(code)


async def _drain_and_exit(app, server, path):
    """SIGTERM: stop accepting, give in-flight calls DRAIN_S to answer, then exit 0."""
    server.close()
    try:
        os.unlink(path)
    except OSError:
        pass
    deadline = app.loop.time() + DRAIN_S
    while app.busy() and app.loop.time() < deadline:
        await asyncio.sleep(0.01)
    # Handler threads may still be blocked; nothing must wait for them.
    os._exit(0)


async def _serve(handler, is_async, path):
    loop = asyncio.get_running_loop()
    app = _App(handler, is_async, loop)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        server = await loop.create_unix_server(lambda: _Connection(app), path=path, backlog=256)
    except OSError as exc:
        print(f'ferry: cannot listen on {path}: {exc}', file=sys.stderr)
        os._exit(EXIT_LISTEN)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: loop.create_task(_drain_and_exit(app, server, path)))
    await asyncio.Event().wait()


def _check(spec):
    """Check mode: loads the handler once and reports where it failed, if it did."""
    try:
        _load(spec)
        report = {'ok': True}
    except BaseException as exc:  # noqa: B902 - SystemExit at import time is a load failure too
        report = {'ok': False, 'message': f'{type(exc).__name__}: {exc}'}
        report.update(_failure_location(exc, spec.rpartition(':')[0] if ':' in spec else spec))
    sys.stdout.flush()
    os.write(1, ('\n' + CHECK_REPORT_MARK + json.dumps(report) + '\n').encode('utf-8', 'replace'))
    os._exit(0)


def _failure_location(exc, handler_file):
    """File, line and column of a load failure: the syntax error's own, else the package's last frame."""
    if isinstance(exc, SyntaxError) and exc.filename:
        loc = {'file': exc.filename}
        if exc.lineno:
            loc['line'] = exc.lineno
        if exc.offset:
            loc['column'] = exc.offset
        return loc
    root = os.getcwd().rstrip('/') + '/'
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith(root) and not frame.filename.startswith(root + PACKAGE_SITE):
            loc = {'file': frame.filename, 'line': frame.lineno}
            if getattr(frame, 'colno', None) is not None:
                loc['column'] = frame.colno + 1
            return loc
    return {'file': handler_file}


def main():
    _builtins_of_site()
    if os.environ.get('FERRY_CHECK') == '1' and os.environ.get('FERRY_HANDLER'):
        _check(os.environ['FERRY_HANDLER'])
    sys.stdout = output.stdout
    sys.stderr = output.stderr
    path = os.environ.get('FERRY_SOCKET')
    spec = os.environ.get('FERRY_HANDLER')
    pooled = os.environ.get('FERRY_POOLED') == '1' and not spec
    if not path or not (spec or pooled):
        print('ferry: FERRY_SOCKET and FERRY_HANDLER must be set', file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    handler, is_async = None, False
    if not pooled:
        try:
            handler, is_async = _load(spec)
        except BaseException as exc:  # SystemExit at import time is a load failure too
            print(f'ferry: cannot load the handler {spec!r}: {type(exc).__name__}: {exc}', file=sys.stderr)
            traceback.print_exception(exc)
            sys.exit(EXIT_CONFIG)
    asyncio.run(_serve(handler, is_async, path))


if __name__ == '__main__':
    main()
