# ShortedFaaS's lambda(input, environment) contract on Ferry's python runtime. `lambda` is a
# keyword in Python, so the user's module (SHORTEDFAAS_MODULE) defines `lambda_handler` or
# `handler`. `input` is the body as text; `environment` holds headers (lower-case names), method,
# content_type, accept and code (200, or 202 when called through /a/), readable and settable as
# attributes or keys. The return value is the body: str or bytes as they are, None as empty,
# anything else as JSON. Added to the package by Ferry's ShortedFaaS surface; imports nothing of Ferry.
import importlib
import json
import os

_user = importlib.import_module(os.environ.get('SHORTEDFAAS_MODULE', 'lambda'))
_fn = getattr(_user, 'lambda_handler', None) or getattr(_user, 'handler')


class Environment(dict):
    __getattr__ = dict.get

    def __setattr__(self, name, value):
        self[name] = value


def handler(request):
    headers = {k.lower(): v for k, v in request.headers.items()}
    env = Environment(headers=headers, method=request.method,
                      content_type=headers.get('content-type', ''), accept=headers.get('accept', ''),
                      code=202 if headers.get('x-shortedfaas-async') else 200)
    env['contentType'] = env['content_type']
    out = _fn(request.body.decode('utf-8', 'replace') if request.body else '', env)
    code = env.get('code')
    status = code if isinstance(code, int) and 200 <= code <= 599 else 500
    if out is None:
        return (status, {}, '')
    if isinstance(out, (bytes, bytearray)):
        return (status, {'content-type': 'application/octet-stream'}, bytes(out))
    if isinstance(out, str):
        return (status, {'content-type': 'text/plain; charset=utf-8'}, out)
    return (status, {'content-type': 'application/json'}, json.dumps(out))
