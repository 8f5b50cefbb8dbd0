# A Python handler. Returning a (status, headers, body) tuple sets the status
# and headers; a dict is sent as JSON, str and bytes as they are.


def handler(request):
    if request.method == "POST":
        data = request.json() if request.body else {}
        name = data.get("name", "world") if isinstance(data, dict) else "world"
        return (201, {"content-type": "text/plain; charset=utf-8"}, f"Created a greeting for {name}\n")
    return {
        "hello": request.query.get("name", "world"),
        "path": request.path,
        "user_agent": request.headers.get("user-agent"),
    }
