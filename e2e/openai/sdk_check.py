"""The official `openai` Python package against Switchboard's gateway, unchanged:
models.list(), a plain completion, a streamed completion with usage, and a tool-call round
trip. The fake provider (switchboard-fake-llm) is told what to answer through its
`/_fake/scripts` endpoint and records what reached it.

Environment: SWITCHBOARD_GATEWAY_URL (the hub, e.g. http://127.0.0.1:8080),
SWITCHBOARD_GATEWAY_KEY (a gateway key, sbk_...), FAKE_LLM_URL (the fake provider).
Exits non-zero with a message on the first failed check.
"""

import json
import os
import sys
import urllib.request

from openai import OpenAI

HUB = os.environ["SWITCHBOARD_GATEWAY_URL"].rstrip("/")
KEY = os.environ["SWITCHBOARD_GATEWAY_KEY"]
FAKE = os.environ["FAKE_LLM_URL"].rstrip("/")
MODEL = "local/gpt-test"


def fake(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        FAKE + path, data=data, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        text = response.read()
        return json.loads(text) if text else None


def check(condition, message):
    if not condition:
        print("FAILED: " + message, file=sys.stderr)
        sys.exit(1)


client = OpenAI(base_url=HUB + "/v1", api_key=KEY, max_retries=0)

# models.list() shows the key's models.
ids = [m.id for m in client.models.list()]
check(MODEL in ids, f"models.list() lacks {MODEL}: {ids}")

# A plain completion; the overhead header is there.
fake("/_fake/scripts", [{"text": "Hello from the fake provider."}])
raw = client.chat.completions.with_raw_response.create(
    model=MODEL, messages=[{"role": "user", "content": "Say hello"}]
)
completion = raw.parse()
check(
    completion.choices[0].message.content == "Hello from the fake provider.",
    f"plain completion: {completion}",
)
check(completion.usage.total_tokens > 0, f"usage: {completion.usage}")
overhead = float(raw.headers["x-switchboard-overhead-ms"])
check(0 <= overhead < 1000, f"overhead header: {overhead}")

# Streaming, with the usage chunk at the end.
fake("/_fake/scripts", [{"text": "one two three four five", "chunks": 5}])
stream = client.chat.completions.create(
    model=MODEL,
    messages=[{"role": "user", "content": "Count"}],
    stream=True,
    stream_options={"include_usage": True},
)
text, usage, finish = "", None, None
for chunk in stream:
    if chunk.usage is not None:
        usage = chunk.usage
    for choice in chunk.choices:
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish
check(text == "one two three four five", f"streamed text: {text!r}")
check(finish == "stop", f"stream finish_reason: {finish}")
check(usage is not None and usage.completion_tokens > 0, f"stream usage: {usage}")

# A tool call round trip.
tools = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
fake(
    "/_fake/scripts",
    [{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}],
)
messages = [{"role": "user", "content": "What is the weather in Oslo?"}]
first = client.chat.completions.create(model=MODEL, messages=messages, tools=tools)
message = first.choices[0].message
check(first.choices[0].finish_reason == "tool_calls", f"finish: {first.choices[0]}")
call = message.tool_calls[0]
check(call.function.name == "get_weather", f"tool call: {call}")
check(json.loads(call.function.arguments) == {"city": "Oslo"}, f"arguments: {call}")
messages.append(message.model_dump(exclude_none=True))
messages.append({"role": "tool", "tool_call_id": call.id, "content": "-5 °C and snowing"})
fake("/_fake/scripts", [{"text": "It is -5 °C and snowing in Oslo."}])
second = client.chat.completions.create(model=MODEL, messages=messages, tools=tools)
check(
    second.choices[0].message.content == "It is -5 °C and snowing in Oslo.",
    f"after the tool result: {second}",
)
sent = fake("/_fake/requests")[-1]["body"]
tool_messages = [m for m in sent["messages"] if m["role"] == "tool"]
check(
    tool_messages and tool_messages[0]["tool_call_id"] == call.id,
    f"the provider did not get the tool result: {sent['messages']}",
)

# A bad key is refused with the SDK's AuthenticationError.
try:
    OpenAI(base_url=HUB + "/v1", api_key="sbk_wrong", max_retries=0).models.list()
    check(False, "a wrong key was accepted")
except Exception as e:  # noqa: BLE001 - the SDK's error class is what we check
    check(type(e).__name__ == "AuthenticationError", f"wrong key: {type(e).__name__} {e}")

print("openai SDK checks passed: models.list, completion, streaming, tool round trip")
