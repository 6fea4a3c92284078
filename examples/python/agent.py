"""A toy agent run reported live to livetrace with the standard-library client.

    python3 examples/python/agent.py http://127.0.0.1:7411/v1/trace [--token T] [--wait-stdin]

It creates a trace, sends each step as it happens (plan, two tools in parallel, one of
which fails, a join that answers), logs along the way, and completes the trace. It prints
the trace id on its first line; with --wait-stdin it then waits for a line on stdin before
the first step (so a test can subscribe first and see every step arrive live).
"""

import sys
import time

from livetrace_client import Livetrace


def main(argv):
    api = argv[1]
    token = argv[argv.index("--token") + 1] if "--token" in argv else None
    client = Livetrace(api, token=token)
    trace = client.create(agent_name="python-agent", metadata={"language": "python"})
    print(trace.id, flush=True)
    if "--wait-stdin" in argv:
        sys.stdin.readline()

    trace.step("plan", "plan", input={"question": "What is the weather in Paris, in Fahrenheit?"}, kind="chain")
    trace.log("deciding which tools to call", node="plan", data={"tools": ["weather", "convert"]})
    time.sleep(0.05)

    # Two tools in parallel under the plan (the plan completes when they start).
    trace.send([
        {"op": "parallel", "items": [
            {"ref": "weather", "label": "weather", "input": {"city": "Paris"}},
            {"ref": "convert", "label": "convert", "input": {"celsius": None}},
        ]},
    ])
    trace.log("GET /weather?city=Paris", node="weather", level="debug")
    trace.send([{"op": "complete", "node": "weather", "output": {"celsius": 21}}])
    trace.send([
        {"op": "log", "node": "convert", "level": "error", "message": "no input value"},
        {"op": "fail", "node": "convert", "error": {"name": "ValueError", "message": "celsius is None"}},
    ])

    # The answer joins both branches (an implicit join: its parents are the current nodes).
    trace.send([
        {"op": "add", "ref": "answer", "label": "answer", "input": "merge tool results"},
        {"op": "space_create", "space": "memory", "label": "Memory"},
        {"op": "space_set", "space": "memory", "key": "city", "value": "Paris"},
        {"op": "set_output", "node": "answer", "output": "It is 21 C in Paris (conversion failed)."},
    ])
    trace.complete()
    print(trace.last_seq, flush=True)


if __name__ == "__main__":
    main(sys.argv)
