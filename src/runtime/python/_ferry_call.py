"""The Python shim's view of one call: the Request a handler receives and the encoding of whatever
it returns into frames (see runtime/frames/codec.ts). Part of the shim; copied next to shim.py."""

import json
import struct
import traceback
from urllib.parse import parse_qs

# Frame types, as in codec.ts.
REQUEST, DATA, END_FRAME, RESPONSE, RESET = 1, 2, 3, 4, 5
WINDOW = 7
END = 0x80
MAX_FRAME = 64 * 1024 * 1024
# Bodies above this go out as a head and DATA frames of this size, as the host grants credit.
SLICE = 64 * 1024
# As in codec.ts: response DATA bytes a stream may have in flight before the host grants more.
STREAM_WINDOW = 1024 * 1024

frame_head = struct.Struct('>IBI')
_head_frame_head = struct.Struct('>IBII')
u32 = struct.Struct('>I')


class Request:
    """What a handler receives. `path` has no query string and is not percent-decoded; `headers`
    has lower-case names (repeated headers joined with ', '); `body` is bytes."""

    __slots__ = ('method', 'url', 'path', 'query_string', 'headers', 'body', 'request_id', '_query_list')

    def __init__(self, method, url, request_id, headers, body):
        self.method = method
        self.url = url
        q = url.find('?')
        self.path = url if q < 0 else url[:q]
        self.query_string = '' if q < 0 else url[q + 1:]
        self.headers = headers
        self.body = body
        self.request_id = request_id
        self._query_list = None

    @property
    def query_list(self):
        """Every value of every query parameter: `{name: [value, ...]}`."""
        if self._query_list is None:
            self._query_list = parse_qs(self.query_string, keep_blank_values=True) if self.query_string else {}
        return self._query_list

    @property
    def query(self):
        """The first value of each query parameter."""
        return {k: v[0] for k, v in self.query_list.items()}

    def text(self):
        return self.body.decode('utf-8', 'replace')

    def json(self):
        """The body parsed as JSON; None when the body is empty."""
        return json.loads(self.body) if self.body else None

    def __repr__(self):
        return f'<Request {self.method} {self.url} {self.request_id}>'


class HandlerResultError(Exception):
    """The handler returned something that cannot become an HTTP response."""


_TEXT = 'text/plain; charset=utf-8'
_TEXT_HEAD = b'200\0content-type\0' + _TEXT.encode()
_JSON = 'application/json'
_BINARY = 'application/octet-stream'
_BYTES_TYPES = (bytes, bytearray, memoryview)
# Node refuses header values outside these characters; refusing them here fails one call, where
# letting them through would make the gateway drop the whole connection.
_bad_value_chars = frozenset(chr(c) for c in range(32) if c != 9) | {'\x7f'}


def _body_of(body):
    """(bytes, default content type) for a handler's body value."""
    if isinstance(body, str):
        return body.encode('utf-8'), _TEXT
    if isinstance(body, _BYTES_TYPES):
        return bytes(body), _BINARY
    if isinstance(body, (dict, list)):
        return json.dumps(body, ensure_ascii=False, separators=(',', ':')).encode('utf-8'), _JSON
    if body is None:
        return b'', None
    raise HandlerResultError(f'unsupported body type {type(body).__name__}')


def _check_header(name, value):
    if not name or not name.isascii() or any(c in ' \t\r\n:\0"(),/;<=>?@[\\]{}' for c in name):
        raise HandlerResultError(f'invalid response header name {name!r}')
    if any(c in _bad_value_chars or ord(c) > 255 for c in value):
        raise HandlerResultError(f'invalid character in response header {name!r}')


class Streamed:
    """An answer with a body above SLICE: its RESPONSE frame, and the body, which the connection
    sends as DATA frames as far as the stream's credit goes (see codec.ts, flow control)."""

    __slots__ = ('head', 'body')

    def __init__(self, head, body):
        self.head = head
        self.body = body


def response_frames(cid, result):
    """Encodes a handler's return value as the bytes of one RESPONSE|END frame, or, for bodies
    above SLICE, a Streamed answer."""
    if isinstance(result, str):
        body = result.encode('utf-8')
        return _encode_response(cid, _TEXT_HEAD + _length(body), body)
    if result is None:
        return _encode_response(cid, b'204', b'')
    if isinstance(result, tuple):
        if len(result) == 3:
            status, headers, body = result
        elif len(result) == 2:
            status, body = result
            headers = None
        else:
            raise HandlerResultError('a tuple result must be (status, headers, body) or (status, body)')
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 999:
            raise HandlerResultError(f'invalid status {status!r}')
        data, ctype = _body_of(body)
        fields = [str(status)]
        has_ctype = False
        for name, value in (headers or {}).items():
            name = str(name)
            lower = name.lower()
            if lower == 'content-length' or lower == 'transfer-encoding':
                continue  # the shim sends the whole body and sets the length itself
            if lower == 'content-type':
                has_ctype = True
            for v in value if isinstance(value, (list, tuple)) else (value,):
                v = str(v)
                _check_header(name, v)
                fields.append(name)
                fields.append(v)
        if ctype and not has_ctype:
            fields += ('content-type', ctype)
        head = '\0'.join(fields).encode('utf-8')
        if status >= 200 and status != 204 and status != 304:  # RFC 9110 8.6: no length on these
            head += _length(data)
        return _encode_response(cid, head, data)
    data, ctype = _body_of(result)  # bytes, dict, list
    return _encode_response(cid, b'200\0content-type\0' + ctype.encode() + _length(data), data)


def _length(body):
    """The Content-Length field of a head, for a body sent in DATA frames after it; none for one
    complete in the RESPONSE frame (the gateway sets its exact length, and the head stays the same
    from call to call, which the gateway decodes once)."""
    return b'\0content-length\0' + str(len(body)).encode() if len(body) > SLICE else b''


def _encode_response(cid, head, body):
    if len(body) <= SLICE:
        return b''.join((_head_frame_head.pack(9 + len(head) + len(body), RESPONSE | END, cid, len(head)), head, body))
    return Streamed(_head_frame_head.pack(9 + len(head), RESPONSE, cid, len(head)) + head, memoryview(body))


def data_frames(cid, stream):
    """The DATA frames of a Streamed answer's body that its credit allows: `stream` is
    [body view, credit], updated in place. END rides on the last frame."""
    body, credit = stream
    parts = []
    while len(body) and credit > 0:
        n = min(len(body), credit, SLICE)
        piece = body[:n]
        body = body[n:]
        credit -= n
        parts.append(frame_head.pack(5 + n, DATA | (0 if len(body) else END), cid))
        parts.append(piece)
    stream[0] = body
    stream[1] = credit
    return b''.join(parts)


def _reset_frame(cid, reason):
    data = reason.encode('utf-8', 'replace')[:512]
    return frame_head.pack(5 + len(data), RESET, cid) + data


def failure(cid, exc):
    """Traceback to stderr (prefixed: we are inside the request's context), short reason to the host."""
    tb = exc.__traceback__
    # The first frame is the shim calling the handler: noise in the function's logs.
    traceback.print_exception(type(exc), exc, tb.tb_next if tb is not None and tb.tb_next is not None else tb)
    text = str(exc)
    first = text.splitlines()[0] if text else ''
    reason = f'{type(exc).__name__}: {first}' if first else type(exc).__name__
    return _reset_frame(cid, reason[:200])


