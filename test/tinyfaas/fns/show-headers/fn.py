# Answers the request headers as JSON.
import json
import typing


def fn(data: typing.Optional[str], headers: typing.Dict[str, str]) -> str:
    return json.dumps(headers)
