# A Ferry function in Python. `request` has method, path, query (dict),
# headers (dict, lowercase keys), body (bytes), text() and json().
# Return a str, bytes, a dict (sent as JSON) or a (status, headers, body) tuple.


def handler(request):
    return {"hello": request.query.get("name", "world"), "method": request.method}
