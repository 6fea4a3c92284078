"""A small livetrace client for the live HTTP write API, using only the standard library.

    client = Livetrace("http://127.0.0.1:7411/v1/trace", token=None)
    trace = client.create(agent_name="my-agent")
    trace.send([{"op": "add", "ref": "plan", "label": "plan", "input": {"q": "hi"}}])
    trace.send([{"op": "mark_complete"}])

Every batch carries an Idempotency-Key, so a retry after a timeout or a dropped
connection never applies it twice (the server answers the first result again).
The operations are documented in docs/ingest.md.
"""

import json
import time
import urllib.error
import urllib.request
import uuid


class LivetraceError(Exception):
    """An error answer of the server: `{ "error": { "code", "message" } }`."""

    def __init__(self, status, code, message, body=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.body = body or {}


class Livetrace:
    def __init__(self, api_url, token=None, timeout=10.0, retries=3):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.retries = retries

    def _post(self, path, body, key):
        data = json.dumps(body).encode("utf-8")
        headers = {"content-type": "application/json", "idempotency-key": key}
        if self.token:
            headers["authorization"] = "Bearer " + self.token
        attempt = 0
        while True:
            request = urllib.request.Request(self.api_url + path, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as e:
                payload = {}
                try:
                    payload = json.loads(e.read().decode("utf-8"))
                except ValueError:
                    pass
                # 503: busy or shutting down; retrying with the same key is safe.
                if e.code == 503 and attempt < self.retries:
                    attempt += 1
                    time.sleep(0.2 * attempt)
                    continue
                err = payload.get("error", {})
                raise LivetraceError(e.code, err.get("code", "HTTP"), err.get("message", str(e)), payload) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                # The request may or may not have been applied: the same key makes the retry safe.
                if attempt >= self.retries:
                    raise
                attempt += 1
                time.sleep(0.2 * attempt)

    def create(self, **options):
        """Creates a trace; options are those of POST /traces (agent_name, metadata, ...)."""
        answer = self._post("/traces", options, "create-" + uuid.uuid4().hex)
        return Trace(self, answer["trace_id"])


class Trace:
    def __init__(self, client, trace_id):
        self.client = client
        self.id = trace_id
        self.refs = {}
        self.last_seq = 0

    def send(self, ops):
        """Applies a batch of operations in order; returns the server's answer."""
        answer = self.client._post("/traces/%s/ops" % self.id, {"ops": ops}, uuid.uuid4().hex)
        self.refs.update(answer.get("refs", {}))
        self.last_seq = answer.get("last_seq", self.last_seq)
        return answer

    # A few helpers over send(); anything else goes through send() directly.
    def step(self, ref, label, input=None, **fields):
        op = {"op": "add", "ref": ref, "label": label, **fields}
        if input is not None:
            op["input"] = input
        return self.send([op])

    def log(self, message, node=None, level="info", data=None):
        op = {"op": "log", "message": message, "level": level}
        if node is not None:
            op["node"] = node
        if data is not None:
            op["data"] = data
        return self.send([op])

    def complete(self):
        return self.send([{"op": "mark_complete"}])
