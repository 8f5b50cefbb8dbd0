"""A gRPC client of Ferry as a Python program writes one: grpcio, with stubs that protoc generated
from Ferry's .proto files, metadata as a list of (key, value) pairs.

    grpc-client.py STUBS_DIR HOST:PORT < calls.json

Reads a JSON list of calls and prints a JSON list of how each ended. A call is
{"service": "ferry" | "tinyfaas", "function", "method"?, "path"?, "body"? (text), "data"? (tinyfaas;
left out: unset), "metadata"?: [[key, value], ...]}.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from ferry.v1 import functions_pb2, functions_pb2_grpc  # noqa: E402
from tinyfaas import tinyfaas_pb2, tinyfaas_pb2_grpc  # noqa: E402


def call_one(ferry, tiny, c):
    metadata = [(k, v) for k, v in c.get("metadata", [])]
    try:
        if c["service"] == "tinyfaas":
            data = tinyfaas_pb2.Data(functionIdentifier=c["function"])
            if "data" in c:
                data.data = c["data"]
            resp = tiny.Request(data, metadata=metadata, timeout=60)
            return {"code": "OK", "response": resp.response}
        req = functions_pb2.InvokeRequest(
            function=c["function"],
            method=c.get("method", ""),
            path=c.get("path", ""),
            body=c.get("body", "").encode(),
        )
        resp = ferry.Invoke(req, metadata=metadata, timeout=60)
        return {
            "code": "OK",
            "status": resp.status,
            "headers": [[h.name, h.value] for h in resp.headers],
            "body": resp.body.decode("utf-8", "replace"),
        }
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details(), "trailers": dict(e.trailing_metadata() or [])}


def main():
    calls = json.load(sys.stdin)
    with grpc.insecure_channel(sys.argv[2]) as channel:
        ferry = functions_pb2_grpc.FunctionsStub(channel)
        tiny = tinyfaas_pb2_grpc.TinyFaaSStub(channel)
        print(json.dumps([call_one(ferry, tiny, c) for c in calls]))


main()
