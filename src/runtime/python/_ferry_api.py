"""The instance's client of Ferry, as `context` gives it to a handler taking two parameters:
`context.objects` (the function's objects) and `context.call(...)` (other functions). Everything
goes over the instance's Unix socket (FERRY_API_SOCKET), the one way to Ferry whatever the network
policy; Ferry acts on it with the instance's own token. Standard library only; part of the shim.
"""

import http.client
import json
import os
import re
import socket
from urllib.parse import quote, urlencode

_FN_REF = re.compile(r'^[a-z0-9][a-z0-9-]{0,62}(@[a-z0-9][a-z0-9-]{0,62})?$')


class FerryApiError(Exception):
    """Ferry refused a request: `status`, the problem's `code` and `detail`."""

    def __init__(self, status, code, detail):
        super().__init__(f'{status} {code}: {detail}')
        self.status = status
        self.code = code
        self.detail = detail


class Response:
    """An answer read whole: `status`, `headers` (lower-case names), `body` (bytes)."""

    __slots__ = ('status', 'headers', 'body')

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def ok(self):
        return 200 <= self.status < 300

    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return f'<Response {self.status}>'


class StoredObject:
    """An object read with `objects.get`: `body` (bytes), `content_type`, `etag`, `size`."""

    __slots__ = ('body', 'content_type', 'etag', 'size')

    def __init__(self, body, content_type, etag):
        self.body = body
        self.content_type = content_type
        self.etag = etag
        self.size = len(body)

    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        return json.loads(self.body) if self.body else None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__('ferry', timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def _refusal(res):
    try:
        p = json.loads(res.body)
        return FerryApiError(res.status, p.get('code', 'error'), p.get('detail', ''))
    except (ValueError, AttributeError):
        return FerryApiError(res.status, 'error', res.text()[:200])


class Client:
    """Requests to Ferry over the socket. One connection per request: handlers run in threads."""

    def __init__(self, env, timeout=60.0):
        self._socket = env.get('FERRY_API_SOCKET')
        self._base = env.get('FERRY_API_URL', 'http://ferry')
        self.timeout = timeout
        self.objects = Objects(self, env.get('FERRY_FUNCTION', ''))

    def fetch(self, path, method='GET', body=None, headers=None):
        """A request to `/fn/...` or this function's object routes; answers a Response.
        `body` is bytes, str, or a binary file object (streamed)."""
        if not self._socket:
            raise RuntimeError('this instance has no Ferry API socket (FERRY_API_SOCKET is not set)')
        if path.startswith(self._base):
            path = path[len(self._base):]
        if not path.startswith('/'):
            raise ValueError(f'path {path!r} must start with /')
        h = {k.lower(): str(v) for k, v in (headers or {}).items()}
        if isinstance(body, str):
            body = body.encode('utf-8')
        conn = _UnixConnection(self._socket, self.timeout)
        try:
            streamed = body is not None and not isinstance(body, (bytes, bytearray, memoryview))
            conn.request(method.upper(), path, body=body, headers=h, encode_chunked=streamed and 'content-length' not in h)
            res = conn.getresponse()
            data = res.read()
            return Response(res.status, {k.lower(): v for k, v in res.getheaders()}, data)
        finally:
            conn.close()

    def call(self, fn, path='/', method='GET', body=None, headers=None):
        """Calls another function (`name` or `name@ref`) at `path`; answers a Response."""
        if not _FN_REF.match(fn):
            raise ValueError(f'{fn!r} is not a function name (name or name@ref)')
        return self.fetch(f'/fn/{fn}{path if path.startswith("/") else "/" + path}', method, body, headers)


class Objects:
    """The function's objects: put, get, delete, list."""

    def __init__(self, client, fn):
        self._client = client
        self._root = f'/v1/functions/{quote(fn, safe="")}/objects'

    def _at(self, key):
        # The key as one segment (%2F for /): a `.` or `..` segment must reach Ferry to be
        # refused, not be resolved away by URL rules.
        return f'{self._root}/{quote(key, safe="")}'

    def put(self, key, body, content_type=None):
        """Stores `body` (bytes, str or a binary file) under `key`; answers the object's metadata."""
        if content_type is None:
            content_type = 'text/plain; charset=utf-8' if isinstance(body, str) else 'application/octet-stream'
        res = self._client.fetch(self._at(key), 'PUT', body if body is not None else b'', {'content-type': content_type})
        if not res.ok:
            raise _refusal(res)
        return res.json()

    def get(self, key):
        """The object (a StoredObject), or None when there is none."""
        res = self._client.fetch(self._at(key))
        if res.status == 404 and _refusal(res).code == 'object-not-found':
            return None
        if not res.ok:
            raise _refusal(res)
        return StoredObject(res.body, res.headers.get('content-type', 'application/octet-stream'), res.headers.get('etag', ''))

    def delete(self, key):
        """True when it was there."""
        res = self._client.fetch(self._at(key), 'DELETE')
        if res.ok:
            return True
        if res.status == 404 and _refusal(res).code == 'object-not-found':
            return False
        raise _refusal(res)

    def list_page(self, prefix='', cursor=None, limit=None):
        """One page: `{"objects": [...], "cursor": ...}` (cursor None on the last page)."""
        q = {'prefix': prefix}
        if cursor:
            q['cursor'] = cursor
        if limit is not None:
            q['limit'] = str(limit)
        res = self._client.fetch(f'{self._root}?{urlencode(q)}')
        if not res.ok:
            raise _refusal(res)
        return res.json()

    def list(self, prefix=''):
        """Every object under `prefix` (dicts with key, size, contentType, etag, ...), in key order."""
        out, cursor = [], None
        while True:
            page = self.list_page(prefix, cursor, 1000)
            out.extend(page['objects'])
            cursor = page.get('cursor')
            if not cursor:
                return out


class Context:
    """The second parameter of a handler: the call's and the instance's view of Ferry."""

    __slots__ = ('function', 'version', 'request_id', 'env', 'objects', 'call', 'fetch')

    def __init__(self, client, request_id):
        self.function = os.environ.get('FERRY_FUNCTION', '')
        self.version = os.environ.get('FERRY_VERSION', '')
        self.request_id = request_id
        self.env = os.environ
        self.objects = client.objects
        self.call = client.call
        self.fetch = client.fetch


_client = None


def context_for(request):
    """The context of one call; the client is made once, when the function's environment is set."""
    global _client
    if _client is None:
        _client = Client(os.environ)
    return Context(_client, request.request_id)
