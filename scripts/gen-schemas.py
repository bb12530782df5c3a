#!/usr/bin/env python3
"""Writes docs/ntx-script.schema.json and docs/ntx-config.schema.json, the JSON Schemas (draft-07) editors use.

This file is the source: the schemas repeat shapes (an inline action is a workflow step, a handler entry and a
graph node), which is easy to keep consistent here and tedious in the JSON. Change the parser
(the passes of libntx/src/dsl/, e.g. actions_pass.cpp) and this together, run `python3 scripts/gen-schemas.py`, and commit both;
tests/e2e/test_schema.py checks that the committed JSON is this script's output and that it agrees with
`ntx validate`. Usage: gen-schemas.py [OUT_DIR] (default: the repository's docs/).
"""
import json
import os
import sys

# The rules: an object the parser checks with check_keys(...) is closed (additionalProperties: false) with the
# keys that call allows; a key another branch is adding carries NEW in its description (the drift check of
# test_schema.py allows such keys; drop the marker once the parser runs them); durations, rates and whole
# numbers follow libntx/src/dsl/units.cpp; shapes that exclude each other (step kinds, closed and open model
# keys, steps or nodes) are anyOf / oneOf / if-then of closed objects, as the parser decides by their keys.
NEW = ""  # every construct the schema describes now runs; set to " (new in this version)" to mark new ones
NUM = r"([0-9]+(\.[0-9]*)?|\.[0-9]+)"
WS = r"[ \t]*"


def ref(name):
    return {"$ref": f"#/definitions/{name}"}


def obj(props, required=(), desc=None, extra=None):
    o = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        o["required"] = list(required)
    if desc:
        o["description"] = desc
    if extra:
        o.update(extra)
    return o


def d(schema, desc):
    s = dict(schema)
    s["description"] = desc
    return s


def arr(items, desc=None, min_items=None):
    a = {"type": "array", "items": items}
    if desc:
        a["description"] = desc
    if min_items is not None:
        a["minItems"] = min_items
    return a


def strenum(values, desc):
    return {"type": "string", "enum": list(values), "description": desc}


defs = {}
defs["scalar"] = {"type": ["string", "number", "boolean"], "description": "A single value (not a list or a map)."}
defs["name"] = {"type": ["string", "number"], "description": "A name."}
defs["template"] = {"type": ["string", "number", "boolean"],
                    "description": "A value; `{{ path }}` or `{{ expression }}` inside it is filled in per request "
                                   "(resource.<field>, <var>.<field>, env.user_id, ...)."}
defs["condition"] = {"type": ["string", "boolean"],
                     "description": "An expression, bare or inside one {{...}}: paths, literals, "
                                    "== != < <= > >=, && || !, "
                                    "+ - * / %, length(), contains(), starts_with(), ends_with(), string(), number(), "
                                    "exists(), default(), random()."}
defs["duration"] = {
    "description": "A duration: 500ms, 5s, 2m (or 2min), 1h; a bare number is seconds.",
    "anyOf": [
        {"type": "string", "pattern": f"^{WS}{NUM}{WS}(ms|s|m|min|h)?{WS}$"},
        {"type": "number", "minimum": 0},
    ],
}
defs["rate"] = {
    "description": "A rate: 200/s, 50 req/s, 10/m (or /min), 36/h, 1/ms.",
    "type": "string",
    "pattern": f"^{WS}{NUM}[^/]*/{WS}(s|sec|m|min|h|ms){WS}$",
}
defs["uint"] = {
    "description": "A non-negative whole number.",
    "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+$"}],
}
defs["positiveUint"] = {
    "description": "A whole number, at least 1.",
    "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": "^[0-9]*[1-9][0-9]*$"}],
}


def with_map():
    return {"type": "object", "description": "Parameters of the call, templated; nested maps flatten to dotted keys "
                                             "(headers: {Content-Type: x} is the parameter headers.Content-Type).",
            "additionalProperties": {"anyOf": [ref("template"), ref("withMap")]}}


defs["withMap"] = {"type": "object", "additionalProperties": {"anyOf": [ref("template"), ref("withMap")]}}

defs["saveAs"] = {
    "description": "Keeps the result fields the plugin reports under this variable name (`{{name.status}}`, "
                   "`{{name.body}}`): a name, or {var, scope, persist}.",
    "anyOf": [
        ref("name"),
        obj({
            "var": d(ref("name"), "The variable name."),
            "scope": strenum(["task-local", "user-local", "global", "workbook"],
                             "How long the variable lives: task-local (default, one task), user-local (the user's "
                             "life), global (the run, every user; last writer wins), workbook (the workbook entry)."),
            "persist": obj({
                "type": strenum(["file"], "file (the only type)."),
                "dir": d(ref("scalar"), "The folder the files go to; relative: under the run's --out folder."),
                "filename": d(ref("template"), "A template that renders to a bare file name, e.g. "
                                               "\"{{env.user_id}}-asset.json\"."),
            }, required=["dir", "filename"], desc="Each saved result is also written to a file (one JSON object)."),
            "extract": {
                "type": "object",
                "description": "Values taken from the result, each a field of the variable ({{var.name}}); one "
                               "that finds nothing is a counted error of kind extract unless it has a default.",
                "additionalProperties": ref("extract"),
            },
        }, required=["var"]),
        obj({
            "name": d(ref("name"), "The variable name (the same as var)."),
            "scope": {"$ref": "#/definitions/saveAs/anyOf/1/properties/scope"},
            "persist": {"$ref": "#/definitions/saveAs/anyOf/1/properties/persist"},
            "extract": {"$ref": "#/definitions/saveAs/anyOf/1/properties/extract"},
        }, required=["name"]),
    ],
}
defs["extract"] = {
    "description": "One value: {json: /pointer} (RFC 6901, or $.a.b[0]), {header: NAME[, regex: RE]} or "
                   "{regex: RE} over the body (its first group, else the whole match); optional default.",
    "anyOf": [
        obj({"json": d({"type": "string"}, "A JSON Pointer (/user/id) or JSONPath ($.user.id, $.items[0])."),
             "default": d(ref("scalar"), "The value when nothing is found.")}, required=["json"]),
        obj({"header": d({"type": "string"}, "A response header, any case."),
             "regex": d({"type": "string"}, "A Perl regex over the header's value."),
             "default": d(ref("scalar"), "The value when nothing is found.")}, required=["header"]),
        obj({"regex": d({"type": "string"}, "A Perl regex over the body."),
             "default": d(ref("scalar"), "The value when nothing is found.")}, required=["regex"]),
    ],
}
defs["retryPolicy"] = obj({
    "max": d(ref("uint"), "Attempts after a failed one."),
    "backoff": {
        "description": "The wait before a retry: a duration (default 100ms), or {initial, max}; doubles each attempt, "
                       "each wait drawn from [d/2, d].",
        "anyOf": [ref("duration"), obj({"initial": d(ref("duration"), "The first wait."),
                                        "max": d(ref("duration"), "The longest wait (default 30s).")})],
    },
}, required=["max"], desc="Retry: {max, backoff}.")
defs["rateLimit"] = obj({"per-user": d(ref("rate"), "Core spaces this action's starts per user, e.g. 50 req/s.")},
                        required=["per-user"], desc="Per-user rate limit of the action.")

EXEC = {
    "timeout": d(ref("duration"), "The action's timeout (default: config.yaml action-timeout, 30s)."),
    "rate-limit": ref("rateLimit"),
    "retry": d(ref("retryPolicy"), "Retries of a failed attempt (errors, not timeouts)."),
    "on-error": d(ref("handler"), "Entries run when the action fails (replaces the workflow's on-error for it)."),
    "on-timeout": d(ref("handler"), "Entries run when the action times out (replaces the workflow's on-timeout)."),
}
defs["exec"] = obj(dict(EXEC), desc="A node's execution controls: timeout, rate-limit, retry, on-error, on-timeout.")

ACTION_BODY = {
    "with": with_map(),
    "save-as": ref("saveAs"),
    "check": d({"anyOf": [ref("condition"), arr(ref("condition"))]},
               "Conditions over the result (status, body, headers.<name>) and variables, each counted pass/fail; "
               "a failed one does not fail the action unless check-fails-action."),
    "check-fails-action": d({"type": "boolean"}, "A failed check fails the action (error kind check)."),
    "expect-status": d({"anyOf": [{"type": "integer", "minimum": 100, "maximum": 599},
                                  arr({"type": "integer", "minimum": 100, "maximum": 599})]},
                       "The statuses that count as success (else the plugin decides: HTTP below 400)."),
    **EXEC,
}
STEP_NAME = {"name": d(ref("name"), "Makes the step a goto target.")}
ACTION_TARGET = {"type": "string", "pattern": r"^[^.]+\..+$", "description": "component.call, e.g. http.get."}

defs["action"] = obj({
    "component": d(ref("name"), "The component (from `components`, or a shipped protocol: http, ftp) that runs the "
                                "call."),
    "call": d(ref("name"), "The call, one of the capabilities the component's plugin declares; without `component`, "
                           "component.call (e.g. http.get)."),
    **ACTION_BODY,
}, required=["call"], desc="A named action.",
    extra={"if": {"not": {"required": ["component"]}}, "then": {"properties": {"call": ACTION_TARGET}}})

# --- steps -------------------------------------------------------------------------------------------
REF = {"ref": d(ref("name"), "A named action (from `actions`).")}
THINK = {"think": {"description": "A pause: a duration, or drawn per pause from {uniform: [min, max]}, "
                             "{normal: {mean, stddev}} or {exponential: {mean}} (reproducible with ntx run --seed).",
                  "anyOf": [ref("duration"),
                            obj({"uniform": arr(ref("duration"), min_items=2)}, required=["uniform"]),
                            obj({"normal": obj({"mean": ref("duration"), "stddev": ref("duration")},
                                               required=["mean", "stddev"])}, required=["normal"]),
                            obj({"exponential": obj({"mean": ref("duration")}, required=["mean"])},
                                required=["exponential"])]}}
LOG = {"log": d(ref("template"), "A templated log line."),
       "level": strenum(["trace", "debug", "info", "warn", "error"], "Log level (default info).")}
UPDATE_WB = {"update-workbook": {"type": "object", "description": "Writes workbook fields: {path-or-alias: template}; "
                                 "nested maps flatten to dotted paths" + NEW + ".",
                                 "minProperties": 1,
                                 "additionalProperties": {"anyOf": [ref("template"), ref("withMap")]}}}
GOTO_STEP = {"goto": d(ref("name"), "Jump to a named step, or end the task through error_out, timeout_out or closing.")}


def plain_steps(named):
    n = dict(STEP_NAME) if named else {}
    return [
        obj({**REF, **n}, required=["ref"]),
        obj({"action": ACTION_TARGET, **ACTION_BODY, **n}, required=["action"]),
        obj({**THINK, **n}, required=["think"]),
        obj({**LOG, **n}, required=["log"]),
        obj({**UPDATE_WB, **n}, required=["update-workbook"]),
    ]


loop_modes = {
    "count": d(ref("uint"), "Run the body this many times."),
    "while": d(ref("condition"), "Run the body while this holds (at most `max` times, default 1000)."),
    "over": d(arr(ref("scalar")), "Run the body once per item; `as` names the item."),
}
loop = {
    "type": "object",
    "description": "A loop: exactly one of count, while or over.",
    "properties": {**loop_modes,
                   "as": d(ref("name"), "The variable holding the item of a loop over a list."),
                   "max": d(ref("uint"), "The most iterations of a while / over loop (while default 1000).")},
    "additionalProperties": False,
    "oneOf": [
        {"required": ["count"], "not": {"anyOf": [{"required": ["while"]}, {"required": ["over"]},
                                                  {"required": ["max"]}, {"required": ["as"]}]}},
        {"required": ["while"], "not": {"anyOf": [{"required": ["count"]}, {"required": ["over"]},
                                                  {"required": ["as"]}]}},
        {"required": ["over", "as"], "not": {"anyOf": [{"required": ["count"]}, {"required": ["while"]}]}},
    ],
}
defs["step"] = {
    "description": "A step: ref, inline action, think, log, if/then/else, loop, goto, parallel or update-workbook.",
    "anyOf": plain_steps(True) + [
        obj({"if": d(ref("condition"), "The condition."),
             "then": d(ref("stepList"), "Steps run when the condition holds."),
             "else": d(ref("stepList"), "Steps run otherwise."), **STEP_NAME}, required=["if", "then"]),
        obj({"loop": loop, "steps": d(ref("stepList"), "The loop's body."), **STEP_NAME}, required=["loop", "steps"]),
        obj({**GOTO_STEP, **STEP_NAME}, required=["goto"]),
        obj({"parallel": arr({"anyOf": [ref("step"),
                                          obj({"steps": d(ref("stepList"), "A branch of several steps, in order.")},
                                              required=["steps"])]},
                             "Branches run at once (a step, or {steps: [...]}); the step ends when every "
                             "branch has ended.", min_items=2),
             **STEP_NAME}, required=["parallel"]),
    ],
}
defs["stepList"] = arr(ref("step"))

# --- handlers ----------------------------------------------------------------------------------------
GOTO_TARGETS = ["error_out", "timeout_out", "closing", "monitoring.retry", "closing.rollback", "next"]
defs["handler"] = arr({
    "description": "A handler entry: retry (first), ref / action / log / think, then goto or stop (last).",
    "anyOf": [
        obj({"retry": d(ref("retryPolicy"), "Re-run the failed step (must be the first entry).")}, required=["retry"]),
        obj({"goto": strenum(GOTO_TARGETS, "Where the task goes: error_out, timeout_out, closing (the user leaves), "
                                           "monitoring.retry (restart the task), closing.rollback (discard what it "
                                           "saved), next (continue with the next step).")}, required=["goto"]),
        obj({"stop": strenum(["user"], "stop: user - the user leaves now.")}, required=["stop"]),
    ] + plain_steps(False),
}, "Entries run in order when an action fails / times out.")

# --- graph nodes -------------------------------------------------------------------------------------
transition = obj({"to": d(ref("name"), "A node, or error_out / timeout_out / closing."),
                  "when": d(ref("condition"), "Taken when this holds; without it, always.")}, required=["to"])
flow = obj({"transitions": arr(transition, "In order; the first whose `when` holds is taken.")},
           desc="The node's outgoing transitions.")


def controls(with_exec):
    p = {"flow": flow}
    if with_exec:
        p["exec"] = ref("exec")
    return obj(p, desc="The node's controls: exec (an action node's timeout, rate-limit, retry, on-error, "
                       "on-timeout) and flow.transitions.")


defs["node"] = {
    "description": "A node: a named action (ref), an inline action, think, log or parallel branches, with controls.",
    "anyOf": [
        obj({**REF, **STEP_NAME, "controls": controls(False)}, required=["ref"]),
        obj({**REF, "controls": controls(True)}, required=["ref"]),
        obj({"action": ACTION_TARGET, **ACTION_BODY, **STEP_NAME, "controls": controls(True)}, required=["action"]),
        obj({**THINK, **STEP_NAME, "controls": controls(False)}, required=["think"]),
        obj({**LOG, **STEP_NAME, "controls": controls(False)}, required=["log"]),
        obj({"parallel": arr({"anyOf": [ref("step"),
                                          obj({"steps": d(ref("stepList"), "A branch of several steps, in order.")},
                                              required=["steps"])]},
                             "Branches run at once (a step, or {steps: [...]}); the step ends when every "
                             "branch has ended.", min_items=2), "controls": controls(False)}, required=["parallel"]),
    ],
}

defs["workflow"] = {
    **obj({
        "steps": arr(ref("step"), "Steps run in order.", min_items=1),
        "nodes": {"type": "object", "minProperties": 1, "description": "A graph: node name -> node.",
                  "additionalProperties": ref("node")},
        "start": d(ref("name"), "The first node of a graph workflow (default: the first one)."),
        "timeout": d(ref("duration"), "The task's deadline, checked every tick."),
        "on-error": d(ref("handler"), "Entries run when an action fails (after its own retry)."),
        "on-timeout": d(ref("handler"), "Entries run when an action times out, or the task passes its timeout."),
        "wbs-level": d({"enum": ["L3", "l3", "3", 3]}, "The workflow's level in the work breakdown structure: a workflow is L3 "
                                          "(L0 program, L1 protocol, L2 scenario, L3 workflow, L4 task, L5 action); "
                                          "any other level is an error."),
    }, desc="A workflow: a `steps` list or a graph of `nodes`."),
    "oneOf": [{"required": ["steps"], "not": {"anyOf": [{"required": ["nodes"]}, {"required": ["start"]}]}},
              {"required": ["nodes"], "not": {"required": ["steps"]}}],
}

# --- resources ---------------------------------------------------------------------------------------
provider = obj({
    "component": d(ref("name"), "The provider: the built-in resource-manager."),
    "calls": obj({"acquire": {"const": "allocate_pair", "description": "A pair_pool's acquire call."},
                  "release": {"const": "release_pair", "description": "A pair_pool's release call."},
                  "mount": {"const": "mount_file", "description": "A file_blob's or kv_store's mount call."}},
                 desc="The resource-manager's call behind each operation (acquire / release / mount)."),
    "leasing": obj({"ttl": d(ref("duration"), "Lease time to live."),
                    "strategy": strenum(["round-robin", "least-used"], "How items are handed out."),
                    "auto-renew": {"type": "boolean", "description": "Renew a lease before its ttl ends" + NEW + "."},
                    "wait-timeout": d(ref("duration"), "How long a user waits for a free item of a dry pool before it "
                                                       "gives up (default: the workflow's timeout)" + NEW + ".")},
                   desc="Leasing: ttl, strategy."),
}, desc="Who provides the items.")
health = obj({"interval": d(ref("duration"), "Time between probes" + NEW + "."),
              "timeout": d(ref("duration"), "A probe's timeout" + NEW + "."),
              "probe": strenum(["tcp", "tcp-connect"],
                               "The probe: a TCP connect to each item's ip and port" + NEW + "."),
              "on-failure": strenum(["evict", "rollback", "ignore"], "What a failed probe does" + NEW + ".")},
             desc="Probes the items of a pool" + NEW + ".")
parser_ = obj({"format": strenum(["csv", "yaml"], "Manifest format."),
               "fields": arr(ref("name"), "The fields of an item, in order; for a CSV manifest, omitted: its "
                                                    "first row names them.", min_items=1)},
              desc="How the manifest is read.")
TYPES = ["pair_pool", "file_blob", "kv_store"]
type_prop = strenum(TYPES, "pair_pool (leased items from a manifest), file_blob (one shared file), kv_store (shared "
                           "key/value records" + NEW + ").")
RESOURCE_METADATA = {"type": "object", "description": "Free-form metadata (owner, guard domain, tags): documentation "
                                                   "the scheduler does not read."}
defs["resource"] = {
    "type": "object",
    "description": "A resource: pair_pool, file_blob or kv_store.",
    "required": ["type", "config"],
    "properties": {"type": type_prop},
    "allOf": [
        {"if": {"properties": {"type": {"const": "pair_pool"}}, "required": ["type"]},
         "then": obj({
             "type": type_prop, "provider": provider,
             "config": obj({"manifest": d(ref("name"), "The manifest file, relative to res_dir."),
                            "parser": parser_}, required=["manifest"],
                           desc="Where the items come from (without parser: a CSV whose first row names the fields)."),
             "capacity": obj({"size": d(ref("uint"), "Use the first N items."),
                              "guard": strenum(["exclusive", "shared"], "exclusive: one user per item at a time; "
                                                                        "shared: items handed round-robin.")},
                             desc="Capacity and guard."),
             "health-check": health,
             "metadata": RESOURCE_METADATA,
         })},
        {"if": {"properties": {"type": {"const": "file_blob"}}, "required": ["type"]},
         "then": obj({
             "type": type_prop, "provider": provider,
             "config": obj({"file": d(ref("name"), "The file, relative to res_dir (at most 256 MiB)."),
                            "checksum": {"type": "string", "pattern": "^(auto|(sha256:)?[0-9a-fA-F]{64})$",
                                         "description": "auto, or sha256:<hex> (or the bare hex)."}},
                           required=["file"], desc="The file."),
             "metadata": RESOURCE_METADATA,
         })},
        {"if": {"properties": {"type": {"const": "kv_store"}}, "required": ["type"]},
         "then": obj({
             "type": type_prop, "provider": provider,
             "config": obj({"manifest": d(ref("name"), "The manifest file" + NEW + "."),
                            "parser": parser_,
                            "items": {"type": "object", "description": "Inline key/value records" + NEW + ".",
                                      "additionalProperties": ref("scalar")}},
                           desc="Where the records come from" + NEW + "."),
             "metadata": RESOURCE_METADATA,
         })},
    ],
}

# --- components --------------------------------------------------------------------------------------
defs["component"] = {
    **obj({
        "name": d(ref("name"), "The name actions use."),
        "version": d(ref("scalar"), "The semver the script needs; the plugin's must be compatible (caret rule). A "
                                    "prefix (0.2, 1) is any version it starts; omitted, any version."),
        "kind": strenum(["native", "builtin", "wasm", "wasi-component"],
                        "native (default, a .so plugin) | builtin | wasm (a core wasm module, `entry` its .wasm "
                        "file; see docs/plugins-wasm.md) | wasi-component (refused: no component-model runtime)."),
        "entry": d(ref("scalar"),
                   "A bare plugin name (found on the plugin search path) or a path relative to res_dir; omitted for "
                   "the shipped protocols (http, ftp): the plugin of that name."),
        "metadata": {"type": "object", "description": "Free-form metadata; `capabilities` lists the calls the script "
                                                      "may use, `transport` is checked against the protocol, "
                                                      "`resources.provides` against the resource-manager.",
                     "properties": {"capabilities": arr(ref("name"), "Calls the plugin must provide."),
                                    "transport": strenum(["tcp", "tls", "udp"], "The protocol's transport: checked "
                                                                                "against the shipped protocols (http, "
                                                                                "ftp: tcp, or tls over it); refused "
                                                                                "for a plugin ntx cannot check."),
                                    "resources": obj({"provides": arr(strenum(["pair_pool", "file_blob", "kv_store"],
                                                                              "A resource type."),
                                                                      "The resource types the built-in "
                                                                      "resource-manager provides.")},
                                                     desc="The resources a builtin component provides.")}},
    }, required=["name"], desc="A component (plugin) the script uses."),
    "if": {"anyOf": [{"properties": {"kind": {"const": "builtin"}}, "required": ["kind"]},
                     {"properties": {"name": {"enum": ["http", "ftp"]}}}]},
    "else": {"required": ["entry"]},
}

# --- load --------------------------------------------------------------------------------------------
stage = obj({"duration": d(ref("duration"), "How long the stage lasts."),
             "target": d(ref("uint"), "Online users at the stage's end."),
             "name": d(ref("name"), "A label.")}, required=["duration", "target"])
defs["profile"] = {
    "description": "A profile: a ramp (start-users -> end-users over duration, then hold) or stages.",
    "anyOf": [
        obj({"start-users": d(ref("uint"), "Users at the start (default 0)."),
             "end-users": d(ref("uint"), "Users at the end of the ramp."),
             "duration": d(ref("duration"), "The ramp's length."),
             "hold": d(ref("duration"), "Then stay at end-users this long.")}, required=["end-users", "duration"]),
        obj({"start-users": d(ref("uint"), "Users at the start (default 0)."),
             "stages": arr(stage, "Linear from the previous target to each stage's target.", min_items=1),
             "hold": d(ref("duration"), "Ignored with stages.")}, required=["stages"]),
    ],
}
exit_name = {"anyOf": [strenum(["timeout_out", "error_out", "closing", "fatal"], "An exit."), ref("duration")],
             "description": "An exit (timeout_out, error_out, closing, fatal); exit.timeout may be a duration."}
exit_only = strenum(["timeout_out", "error_out", "closing", "fatal"],
                    "An exit: timeout_out, error_out, closing or fatal.")
EXITS_DESC = ("Where a task goes when it fails (error, error-out) or times out (timeout, timeout-out) and no "
              "handler says: error_out / timeout_out (the defaults), closing (the user leaves) or fatal (the run "
              "stops, exit code 1).")
exits = obj({"timeout": exit_name, "timeout-out": exit_name, "error": exit_only, "error-out": exit_only},
            desc=EXITS_DESC)
run_exits = obj({"timeout": exit_only, "timeout-out": exit_only, "error": exit_only, "error-out": exit_only},
                desc="The default exits of every scenario. " + EXITS_DESC)
CLOSED_ONLY = ["user-count", "spawn-rate", "profile", "task-duration"]
OPEN_ONLY = ["duration", "max-users"]
defs["scenario"] = {
    **obj({
        "name": d(ref("name"), "The scenario's name (default scenario-N)."),
        "workflow": d(ref("name"), "The workflow each user runs."),
        "user-count": d(ref("positiveUint"), "Closed model: the number of users."),
        "spawn-rate": d(ref("rate"), "Closed model: how fast users start (e.g. 200/s)."),
        "task-duration": d(ref("duration"), "Closed model: each user repeats its workflow until this ends."),
        "max-duration": d(ref("duration"), "The scenario ends here."),
        "user": obj({"inherit": arr(ref("name"), "Pools each user leases an item from."),
                     "context": {"type": "object",
                                 "description": "The scenario's baseline context: workbook fields {path-or-alias: "
                                                "template} set as each task's entry opens; nested maps flatten to "
                                                "dotted paths.",
                                 "minProperties": 1,
                                 "additionalProperties": {"anyOf": [ref("template"), ref("withMap")]}}},
                    desc="User settings."),
        "exit": exits,
        "exits": exits,
        "pacing": obj({"after-failure": {
            "description": "When a user's next task starts after a failed one (ended through error_out or "
                           "timeout_out): tick (the default: at the shard's next tick, so a dead target costs at "
                           "most one task per user and tick), none (at once), or a duration.",
            "anyOf": [{"enum": ["tick", "none"]}, ref("duration")]}},
            desc="How a user's tasks are paced."),
        "profile": d(ref("name"), "Closed model: a profile of load.profiles (instead of user-count)."),
        "arrival-rate": {"description": "Open model: arrivals per second (500/s), or {from, to} rising over duration.",
                         "anyOf": [ref("rate"),
                                   obj({"from": ref("rate"), "to": ref("rate")}, required=["from", "to"])]},
        "duration": d(ref("duration"), "Open model: how long arrivals go on."),
        "max-users": d(ref("uint"), "Open model: cap on concurrent users (arrivals past it are dropped, counted)."),
    }, required=["workflow"], desc="A scenario: a workflow under a closed model (users) or an open model (arrivals)."),
    "allOf": [
        {"if": {"required": ["arrival-rate"]},
         "then": {"required": ["duration"], "not": {"anyOf": [{"required": [k]} for k in CLOSED_ONLY]}},
         "else": {"not": {"anyOf": [{"required": [k]} for k in OPEN_ONLY]}}},
        {"not": {"required": ["profile", "user-count"]}},
    ],
}

# --- thresholds --------------------------------------------------------------------------------------
thr_str = {"type": ["string", "number"], "description": "METRIC OP VALUE, e.g. \"errors.rate < 1%\"."}
abort = {"type": "boolean", "description": "Checked every second during the run: a failure stops it."}
defs["thresholds"] = {
    "description": "Pass/fail criteria: a list of \"METRIC OP VALUE\" (or {threshold, abort-on-fail}), or a map "
                   "metric: condition.",
    "anyOf": [
        {"type": "null"},
        arr({"anyOf": [thr_str, obj({"threshold": thr_str, "abort-on-fail": abort}, required=["threshold"])]}),
        {"type": "object", "additionalProperties": {
            "anyOf": [
                d(thr_str, "A condition: OP VALUE, e.g. \"< 300ms\"."),
                obj({"condition": thr_str, "abort-on-fail": abort}, required=["condition"]),
                arr({"anyOf": [thr_str, obj({"condition": thr_str, "abort-on-fail": abort}, required=["condition"])]}),
            ]}},
    ],
}

# --- workbook / progress (new) -------------------------------------------------------------------------
SECTIONS = ["timeline", "execution", "governance", "telemetry", "registers", "communications"]
section = obj({"defaults": {"type": "object",
                            "description": "Field defaults (nested maps flatten to dotted paths)" + NEW + ".",
                            "additionalProperties": {"anyOf": [ref("scalar"), ref("withMap")]}},
               "fields": arr(ref("name"), "Field paths (default \"\")" + NEW + ".")},
              desc="A workbook section: defaults and fields" + NEW + ".")
sections = {s: section for s in SECTIONS}
defs["workbook"] = obj({**sections,
                        "sections": obj(dict(sections), desc="The sections, grouped" + NEW + "."),
                        "expose": {"type": "object",
                                   "description": "Aliases: alias -> section path (state: timeline.phase)" + NEW + ".",
                                   "additionalProperties": ref("name")}},
                       desc="The workbook: sections timeline, execution, governance, telemetry, registers, "
                            "communications (defaults, fields) and expose" + NEW + ".")
PHASES = ["initiating", "planning", "executing", "monitoring", "closing"]
defs["progress"] = obj({
    "batching": obj({"max-batch-size": d(ref("positiveUint"), "Events per batch" + NEW + "."),
                     "flush-interval": d(ref("duration"), "Longest wait before a batch is flushed" + NEW + "."),
                     "priority-threshold": d(ref("uint"),
                                             "Events at or above this priority flush at once" + NEW + ".")},
                    desc="Progress event batching" + NEW + "."),
    "poller": obj({"priorities": obj({p: ref("uint") for p in PHASES}, desc="Phase -> weight" + NEW + ".")},
                  desc="The progress poller" + NEW + "."),
    "queue-size": d(ref("uint"), "The progress queue's size" + NEW + "."),
    "rollback": strenum(["last-stable-point", "none"], "last-stable-point: a failed health check rolls back the tasks "
                                                       "of the users holding the item (the on-failure of every "
                                                       "health-check that sets none)."),
}, desc="Progress reporting: batching and poller priorities" + NEW + ".")

script = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$comment": "Generated by scripts/gen-schemas.py: edit that and re-run it.",
    "title": "ntx script.yaml",
    "description": "The ntx DSL: a res_dir's script.yaml (see docs/dsl.md). Checked in tests/e2e/test_schema.py "
                   "against the examples and against `ntx validate`.",
    **obj({
        "version": d(ref("scalar"), "The script's version (a string)."),
        "components": arr(ref("component"), "The components (plugins) the script uses."),
        "resources": {"type": "object", "description": "Resources: name -> resource.",
                      "additionalProperties": ref("resource")},
        "workflows": {"type": "object", "description": "Workflows: name -> a `steps` list or a graph of `nodes`.",
                      "additionalProperties": ref("workflow")},
        "actions": {"type": "object", "description": "Named actions, used by `ref`.",
                    "additionalProperties": ref("action")},
        "load": obj({"profiles": {"type": "object", "description": "Profiles: name -> ramp or stages.",
                                  "additionalProperties": ref("profile")},
                     "scenarios": arr(ref("scenario"), "Scenarios, run concurrently.", min_items=1)},
                    required=["scenarios"], desc="What runs: profiles and scenarios."),
        "monitoring": obj({"retry": d(ref("retryPolicy"), "The policy of `goto: monitoring.retry`."),
                           "exits": run_exits,
                           "health": {"not": {}, "description": "Refused: health checks belong to a pool "
                                                                "(resources.<name>.health-check)."}},
                          desc="Monitoring: the task retry policy and the scenarios' default exits."),
        "thresholds": ref("thresholds"),
        "workbook": ref("workbook"),
        "progress": ref("progress"),
        "globals": {"type": "object", "description": "Static global variables: name -> a value (or a map of "
                                                     "values), read by every user as {{global.<name>}} "
                                                     "({{global.<name>.<key>}}).",
                    "additionalProperties": {"anyOf": [ref("scalar"),
                                                       {"type": "object", "additionalProperties": ref("scalar")}]}},
    }, required=["workflows", "load"]),
    "definitions": defs,
}

# --- config.yaml ---------------------------------------------------------------------------------------
byte_rate = {"type": "string",
             "pattern": f"^{WS}{NUM}{WS}(B|KB|kB|KiB|MB|MiB|GB|GiB)?{WS}/{WS}(s|sec|ms|m|min|tick){WS}$",
             "description": "A byte rate: 512KiB/s, 64KB/tick, 1MiB/s (B, KB, KiB, MB, MiB, GB, GiB per s, ms, m "
                            "or tick)."}
log = obj({"level": strenum(["trace", "debug", "info", "warn", "error", "off"], "Log level (logs go to stderr)."),
           "mask": arr(ref("scalar"), "Field names whose values are written *** (default: password, token, "
                                      "authorization, cookie).")}, desc="Logging.")
config = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$comment": "Generated by scripts/gen-schemas.py: edit that and re-run it.",
    "title": "ntx config.yaml",
    "description": "A res_dir's config.yaml (see docs/dsl.md#configyaml).",
    "type": ["object", "null"],
    "properties": {
        "tick": d(ref("duration"), "Scheduler tick (1ms..1s, default 20ms)."),
        "threads": d(ref("uint"), "Event loops (default one per core)."),
        "action-timeout": d(ref("duration"), "Default action timeout (30s)."),
        "grace-period": d(ref("duration"), "After a stop request, how long in-flight actions may finish (5s)."),
        "log": log,
        "logging": d(log, "The same section as `log`."),
        "dynamic-tasks": obj({"max-concurrent": d(ref("uint"), "At most this many run at once."),
                              "rate": d(ref("rate"), "At most this many start per second.")},
                             desc="Tasks plugins request at run time."),
        "network": obj({"send-rate": byte_rate, "recv-rate": byte_rate,
                        "allow": arr({"type": "string", "minLength": 1, "pattern": "^[^ \t]+$"},
                                     desc="Where sockets may connect (docs/dsl.md#network-allow): addresses, CIDRs "
                                          "(127.0.0.0/8, [::1]) and host names (*.svc.local), each with optional "
                                          ":PORTS (80, 8000-8100, 80,443). Present: everything else is denied.")},
                       desc="The host's throttle on every socket, and where sockets may connect."),
        "masking": arr(ref("scalar"), "The same list as log.mask (the seeds' name)."),
        "features": {"type": "object", "description": "Feature flags: name -> on | off, read by feature(\"name\") "
                                                     "in conditions; --feature NAME=on|off switches one.",
                     "additionalProperties": {"enum": ["on", "off", True, False]}},
        "outputs": {"type": "array",
                    "description": "Result streams written while the run goes (docs/reports.md#result-streams): "
                                   "csv / jsonl (every interval), tasks (every finished task), prometheus-rw (the run's "
                                   "metrics pushed to a remote-write URL every interval); a relative file is in --out.",
                    "items": {"type": "object", "minProperties": 1, "maxProperties": 1,
                              "propertyNames": {"enum": ["csv", "jsonl", "tasks", "prometheus-rw"]},
                              "additionalProperties": {"type": "string", "minLength": 1}}},
    },
    "additionalProperties": False,
    "not": {"required": ["log", "logging"]},
    "definitions": {k: defs[k] for k in ("duration", "rate", "uint", "scalar")},
}



def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs")
    for name, schema in (("ntx-script.schema.json", script), ("ntx-config.schema.json", config)):
        with open(os.path.join(out, name), "w") as f:
            json.dump(schema, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
