# tinyFaaS's python3 contract on Ferry's python runtime: the package's `fn.py` defines
# `fn(input, headers)` (or `fn(input)`); `input` is the body as text, None when empty; header
# names come in their canonical HTTP form (`User-Agent`), as tinyFaaS's handler shows them.
# Added to the package by Ferry's tinyFaaS API; it imports nothing of Ferry.
import inspect
import traceback

import fn as _user

_takes_headers = False
try:
    _params = [p for p in inspect.signature(_user.fn).parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    _takes_headers = len(_params) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in _params)
except (TypeError, ValueError):
    pass


def _canonical(name):
    return '-'.join(part[:1].upper() + part[1:].lower() for part in name.split('-'))


def handler(request):
    data = request.body.decode('utf-8', 'replace') if request.body else None
    try:
        if _takes_headers:
            out = _user.fn(data, {_canonical(k): v for k, v in request.headers.items()})
        else:
            out = _user.fn(data)
    except Exception as e:  # tinyFaaS answers what the function raised, as text, with a 500
        traceback.print_exc()
        return (500, {'content-type': 'text/plain; charset=utf-8'}, str(e))
    if out is None:
        return (200, {}, '')
    return (200, {'content-type': 'text/plain; charset=utf-8'}, out if isinstance(out, (bytes, bytearray)) else str(out))
