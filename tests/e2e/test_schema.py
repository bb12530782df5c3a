"""docs/ntx-script.schema.json and docs/ntx-config.schema.json against the real inputs and the real parser.

- Both schemas are valid draft-07 schemas, and what scripts/gen-schemas.py (their source) writes.
- Every examples/**/script.yaml (and config.yaml) is valid against them (a glob: new examples join).
- Every ```yaml block of docs/dsl.md that is a script.yaml document is valid. The rule: a block whose
  top level is a map and whose keys are all script.yaml top-level keys is a script.yaml document; when it
  has both `workflows` and `load` it is checked as a whole script, otherwise (a snippet showing one or a
  few sections) as a fragment: the same schema with the top-level `required` lifted. A block whose keys
  are all config.yaml keys is checked against the config schema. Other blocks (lists, report excerpts)
  are skipped; the test checks that at least MIN_DOC_BLOCKS blocks were checked, so the rule cannot
  silently match nothing.
- Negative cases (unknown keys, wrong types, bad durations and rates, bad enums, broken structure), each
  applied to one YAML document that both sides read: the schema must reject it AND `ntx validate` must
  exit 2 with the expected message, so the schema and the parser cannot drift apart silently in either
  direction for them. The unmodified document must pass both (the control).
- A coarse drift check: every key the parser accepts (the allowed lists of check_keys(...) calls in
  libntx/src/dsl/*_pass.cpp) is a property somewhere in the schemas, and every property of the
  schemas is a key the parser knows, or is marked "(new in this version)" (constructs other branches add).
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import jsonschema
import yaml

from harness import SOURCE, check, main, run_ntx

DOCS = os.path.join(SOURCE, "docs")
NEW = "(new in this version)"
MIN_DOC_BLOCKS = 10
SCRIPT_KEYS = {"version", "components", "resources", "workflows", "actions", "load", "monitoring", "thresholds",
               "workbook", "progress", "globals"}


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where on/off/yes/no are booleans; ntx (yaml-cpp) and editors (YAML 1.2) read
    them as strings (`level: off`). Only true/false are booleans here."""


Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))


def load_yaml(text):
    return yaml.load(text, Loader=Yaml12Loader)


def load_schema(name):
    with open(os.path.join(DOCS, name)) as f:
        return json.load(f)


SCRIPT_SCHEMA = load_schema("ntx-script.schema.json")
CONFIG_SCHEMA = load_schema("ntx-config.schema.json")
SCRIPT = jsonschema.Draft7Validator(SCRIPT_SCHEMA)
CONFIG = jsonschema.Draft7Validator(CONFIG_SCHEMA)
FRAGMENT_SCHEMA = {k: v for k, v in SCRIPT_SCHEMA.items() if k != "required"}
FRAGMENT = jsonschema.Draft7Validator(FRAGMENT_SCHEMA)


def errors(validator, doc):
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in validator.iter_errors(doc)]


def test_schemas_are_valid():
    for schema in (SCRIPT_SCHEMA, CONFIG_SCHEMA):
        jsonschema.Draft7Validator.check_schema(schema)
    check(SCRIPT_SCHEMA["$schema"].startswith("http://json-schema.org/draft-07/"), "script schema is draft-07")


def test_schemas_are_generated():
    with tempfile.TemporaryDirectory() as tmp:
        p = subprocess.run([sys.executable, os.path.join(SOURCE, "scripts", "gen-schemas.py"), tmp],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, f"gen-schemas.py: {p.stderr}")
        for name in ("ntx-script.schema.json", "ntx-config.schema.json"):
            with open(os.path.join(tmp, name)) as a, open(os.path.join(DOCS, name)) as b:
                check(a.read() == b.read(), f"docs/{name} is not what scripts/gen-schemas.py writes: edit the "
                                            "script, run it, commit both")


def test_every_example_is_valid():
    scripts = sorted(glob.glob(os.path.join(SOURCE, "examples", "**", "script.yaml"), recursive=True))
    check(len(scripts) >= 5, f"found only {scripts}")
    for path in scripts:
        with open(path) as f:
            errs = errors(SCRIPT, load_yaml(f))
        check(not errs, f"{path}: {errs}")
    configs = [p for p in glob.glob(os.path.join(SOURCE, "examples", "**", "config.yaml"), recursive=True)
               if os.path.basename(os.path.dirname(p)) != "resource"]  # resource/config.yaml: plugin settings
    check(configs, "no example config.yaml")
    for path in configs:
        with open(path) as f:
            errs = errors(CONFIG, load_yaml(f))
        check(not errs, f"{path}: {errs}")


def dsl_md_blocks():
    with open(os.path.join(DOCS, "dsl.md")) as f:
        text = f.read()
    for m in re.finditer(r"^```yaml\n(.*?)^```", text, re.S | re.M):
        yield text.count("\n", 0, m.start()) + 2, m.group(1)


def test_dsl_md_script_blocks_are_valid():
    config_keys = set(CONFIG_SCHEMA["properties"])
    checked = 0
    for line, block in dsl_md_blocks():
        doc = load_yaml(block)
        if not isinstance(doc, dict) or not doc:
            continue
        keys = set(doc)
        if keys <= SCRIPT_KEYS:
            validator = SCRIPT if {"workflows", "load"} <= keys else FRAGMENT
        elif keys <= config_keys:
            validator = CONFIG
        else:
            continue
        errs = errors(validator, doc)
        check(not errs, f"docs/dsl.md block at line {line}: {errs}")
        checked += 1
    check(checked >= MIN_DOC_BLOCKS, f"only {checked} yaml blocks of docs/dsl.md were checked")


# --- one script with every construct this version runs: both sides accept it ---------------------------
# (the schema must not be stricter than the parser: a form the parser takes that the schema refused would
# show red squiggles on a working script)
EVERY_CONSTRUCT = """\
version: "1.0"
components:
  - name: http
    version: "0.2.1"
    entry: http
    metadata: {capabilities: [get, post, delete], owner: me}
  - {name: resource-manager, kind: builtin}
resources:
  pool:
    type: pair_pool
    provider:
      component: resource-manager
      calls: {acquire: allocate_pair, release: release_pair}
      leasing: {ttl: 2m, strategy: least-used}
    config:
      manifest: ./resource.csv
      parser: {format: csv, fields: [ip, port]}
    capacity: {size: 10, guard: shared}
  blob:
    type: file_blob
    config: {file: ./resource.csv, checksum: auto}
workflows:
  seq:
    wbs-level: 3
    timeout: 1.5s
    steps:
      - {name: top, ref: get}
      - action: http.post
        with:
          url: "http://{{resource.ip}}:{{resource.port}}/x"
          body: "{{blob.blob}}{{got.body}}"
          headers: {Content-Type: text/plain, X: {Y: 1}}
        save-as: {var: posted}
        timeout: 500ms
        rate-limit: {per-user: 5 req/s}
        retry: {max: 2, backoff: {initial: 10ms, max: 1s}}
        on-error: [{retry: {max: 1}}, {log: "x {{env.user_id}}", level: debug}, {goto: next}]
        on-timeout: [{action: http.get, with: {url: "http://127.0.0.1:1/"}}, {think: 1}, {stop: user}]
      - think: 2
      - if: "got.status == 200"
        then: [{log: ok}]
        else: [{goto: error_out}]
      - loop: {count: 2}
        steps: [{think: 10ms}]
      - loop: {while: "true", max: 3}
        steps: [{think: 10ms}]
      - loop: {over: [a, b], as: region, max: 1}
        steps: [{log: "{{region}}"}]
      - if: "default(got.status, 0) != 200"
        then: [{goto: top}]
    on-error: [{ref: get}, {goto: monitoring.retry}]
    on-timeout: [{goto: closing.rollback}]
  graph:
    start: b
    nodes:
      a:
        ref: get
        name: first
        controls: {flow: {transitions: [{to: b}]}}
      b:
        ref: get
        controls:
          exec: {timeout: 2s, retry: {max: 2, backoff: 1s}, on-error: [{goto: error_out}], rate-limit: {per-user: 10/m}}
          flow:
            transitions:
              - {when: "got.status == 200", to: c}
              - {to: closing}
      c:
        action: http.get
        with: {url: "http://127.0.0.1:1/"}
        save-as: cc
        controls: {exec: {timeout: 1s}, flow: {transitions: [{to: d}]}}
      d: {think: 1ms, controls: {flow: {transitions: [{to: f}]}}}
      e: {log: "{{env.user_id}}", level: warn}
      f:
        ref: get
        controls: {flow: {transitions: [{when: "true", to: a}, {to: e}]}}
    on-error: [{stop: user}]
actions:
  get:
    component: http
    call: get
    with: {url: "http://127.0.0.1:1/"}
    save-as: got
    timeout: 2s
  token:
    component: http
    call: get
    with: {url: "http://127.0.0.1:1/token"}
    save-as:
      var: token
      scope: global
      persist: {type: file, dir: artifacts, filename: "{{env.user_id}}-token.json"}
monitoring:
  retry: {max: 2, backoff: 100ms}
  exits: {error: error_out, timeout-out: timeout_out}
load:
  profiles:
    ramp: {start-users: 0, end-users: 10, duration: 10s, hold: 5s}
    wave:
      start-users: 1
      hold: 1s
      stages: [{duration: 5s, target: 5, name: up}, {duration: 5s, target: 0}]
  scenarios:
    - name: closed
      workflow: seq
      user-count: 5
      spawn-rate: 10/min
      task-duration: 10s
      max-duration: 20s
      user: {inherit: [pool]}
      exit: {timeout: 30s, error-out: closing}
    - {name: shaped, workflow: graph, profile: wave, spawn-rate: 1/ms}
    - name: open
      workflow: seq
      arrival-rate: {from: 1/s, to: 10/s}
      duration: 5s
      max-users: 3
      user: {inherit: [pool]}
    - {workflow: seq, arrival-rate: 36/h, duration: 1h, user: {inherit: [pool]}}
thresholds:
  http.get.p99: "< 300ms"
  actions.count: ["> 1", {condition: "< 1000000", abort-on-fail: false}]
  errors.rate: {condition: "< 1%", abort-on-fail: true}
"""
EVERY_CONSTRUCT_CONFIG = """\
tick: 10ms
threads: 1
action-timeout: 30s
grace-period: 1s
logging: {level: off, mask: []}
dynamic-tasks: {max-concurrent: 10, rate: 5/s}
network: {send-rate: 1MiB/s, recv-rate: 64 KB/tick}
"""


def test_every_construct_is_accepted_by_both():
    script, config = load_yaml(EVERY_CONSTRUCT), load_yaml(EVERY_CONSTRUCT_CONFIG)
    check(config["logging"]["level"] == "off", "the YAML 1.2 loader reads off as a string")
    errs = errors(SCRIPT, script) + errors(CONFIG, config)
    check(not errs, f"the schema refuses a script ntx accepts: {errs}")
    with tempfile.TemporaryDirectory() as tmp:
        res = os.path.join(tmp, "res")
        shutil.copytree(BASE, res)
        with open(os.path.join(res, "script.yaml"), "w") as f:
            f.write(EVERY_CONSTRUCT)
        with open(os.path.join(res, "config.yaml"), "w") as f:
            f.write(EVERY_CONSTRUCT_CONFIG)
        rc, out, err = run_ntx("validate", res)
        check(rc == 0, f"ntx validate exit {rc}: {err}")


# --- negative cases: the schema and `ntx validate` must both refuse ------------------------------------
BASE = os.path.join(SOURCE, "examples", "http-tri-phase")


def scenario(d):
    return d["load"]["scenarios"][0]


def action(d):
    return d["actions"]["probe-get"]


def workflow(d):
    return d["workflows"]["http_tri_phase"]


def steps(d):
    return d["workflows"]["http_tri_phase"]["steps"]


def pool(d):
    return d["resources"]["ip-port-pool"]


def open_model(d, arrival_rate):
    s = scenario(d)
    for k in ("user-count", "spawn-rate"):
        s.pop(k)
    s.update({"arrival-rate": arrival_rate, "duration": "5s"})


def graph(d, nodes):
    workflow(d).pop("steps")
    workflow(d)["nodes"] = nodes


def rename(m, old, new):
    m[new] = m.pop(old)


# (what, file, edit, a fragment of the parser's message)
CASES = [
    ("unknown key in a scenario", "script", lambda d: rename(scenario(d), "spawn-rate", "spawn-rat"),
     "unknown key 'spawn-rat' in a scenario"),
    ("unknown top-level key", "script", lambda d: d.update(workflow={}), "unknown key 'workflow' in script.yaml"),
    ("unknown key in an action", "script", lambda d: rename(action(d), "timeout", "timout"),
     "unknown key 'timout' in an action"),
    ("unknown key in save-as", "script", lambda d: action(d).update({"save-as": {"variable": "asset"}}),
     "unknown key 'variable' in save-as"),
    ("unknown key in an inline action step", "script",
     lambda d: steps(d).append({"action": "http.get", "with": {"url": "http://x"}, "saveas": "y"}),
     "unknown key 'saveas' in an inline action step"),
    ("unknown key in a graph node", "script",
     lambda d: d["workflows"].update(g={"nodes": {"a": {"think": "1s", "goto": "b"}}}), "unknown key 'goto'"),
    ("wrong type: user-count", "script", lambda d: scenario(d).update({"user-count": "many"}),
     "user-count must be a non-negative integer"),
    ("wrong type: steps is a map", "script",
     lambda d: d["workflows"]["http_tri_phase"].update(steps={"ref": "probe-get"}), "steps must be a list"),
    ("wrong type: with is a list", "script", lambda d: action(d).update({"with": ["url"]}), "with must be a map"),
    ("wrong type: a with value is a list", "script", lambda d: action(d)["with"].update(tags=["a", "b"]),
     "with.tags must be a scalar or a map"),
    ("wrong type: components is a map", "script", lambda d: d.update(components={"http": {}}),
     "components must be a list"),
    ("bad duration: action timeout", "script", lambda d: action(d).update(timeout="5 parsecs"),
     "timeout must be a duration"),
    ("bad duration: think", "script", lambda d: steps(d).append({"think": "soon"}), "think must be a duration"),
    ("bad duration: leasing ttl", "script", lambda d: pool(d)["provider"]["leasing"].update(ttl="-1s"),
     "ttl must be a duration"),
    ("bad rate: spawn-rate without a unit", "script", lambda d: scenario(d).update({"spawn-rate": "200"}),
     "spawn-rate must be a rate"),
    ("bad rate: per-user per fortnight", "script",
     lambda d: action(d).update({"rate-limit": {"per-user": "5/fortnight"}}), "rate-limit.per-user must be a rate"),
    ("bad enum: capacity guard", "script", lambda d: pool(d)["capacity"].update(guard="private"),
     "unknown guard 'private'"),
    ("bad enum: leasing strategy", "script", lambda d: pool(d)["provider"]["leasing"].update(strategy="random"),
     "unknown leasing strategy 'random'"),
    ("bad enum: component kind", "script", lambda d: d["components"][0].update(kind="python"),
     "unknown component kind 'python'"),
    ("bad enum: manifest format", "script", lambda d: pool(d)["config"]["parser"].update(format="json"),
     "unknown manifest format 'json'"),
    ("bad enum: resource type", "script", lambda d: pool(d).update(type="ip_pool"), "unknown resource type 'ip_pool'"),
    ("bad enum: log step level", "script", lambda d: steps(d).append({"log": "hi", "level": "loud"}),
     "unknown log level 'loud'"),
    ("bad enum: handler goto", "script", lambda d: workflow(d).update({"on-error": [{"goto": "nowhere"}]}),
     "unknown goto target 'nowhere'"),
    ("bad enum: handler stop", "script", lambda d: workflow(d).update({"on-error": [{"stop": "all"}]}),
     "unknown stop target 'all'"),
    ("bad enum: scenario exit", "script", lambda d: scenario(d)["exits"].update(error="5s"), "unknown exit '5s'"),
    ("loop with count and while", "script",
     lambda d: steps(d).append({"loop": {"count": 2, "while": "true"}, "steps": [{"think": "1ms"}]}),
     "exactly one of count, while or over"),
    ("loop over a list without as", "script",
     lambda d: steps(d).append({"loop": {"over": ["a", "b"]}, "steps": [{"think": "1ms"}]}), "needs 'as'"),
    ("an if step without then", "script", lambda d: steps(d).append({"if": "true", "else": [{"think": "1ms"}]}),
     "needs 'then'"),
    ("steps and nodes in one workflow", "script",
     lambda d: d["workflows"]["http_tri_phase"].update(nodes={"a": {"ref": "probe-get"}}), "either 'steps' or 'nodes'"),
    ("an action without call", "script", lambda d: action(d).pop("call"), "has no 'call'"),
    ("a retry without max", "script", lambda d: action(d).update(retry={"backoff": "1s"}), "needs max"),
    ("a stage without target", "script",
     lambda d: d["load"].update(profiles={"p": {"stages": [{"duration": "10s"}]}}), "needs 'duration' and 'target'"),
    ("open model with user-count", "script",
     lambda d: scenario(d).update({"arrival-rate": "10/s", "duration": "5s"}), "belongs to the closed model"),
    ("open-model key in a closed scenario", "script", lambda d: scenario(d).update({"max-users": 5}),
     "belongs to the open model"),
    ("a non-builtin component without entry", "script",
     lambda d: d["components"][0].update(name="web") or d["components"][0].pop("entry"), "has no 'entry'"),
    ("a scenario without workflow", "script", lambda d: scenario(d).pop("workflow"), "has no 'workflow'"),
    ("a threshold map with an unknown key", "script",
     lambda d: d.update(thresholds=[{"threshold": "errors.rate < 1%", "abort": True}]), "unknown key 'abort'"),
    ("user-count 0", "script", lambda d: scenario(d).update({"user-count": 0}), "user-count must be at least 1"),
    ("a profile with stages and a ramp", "script",
     lambda d: d["load"].update(profiles={"p": {"end-users": 5, "duration": "5s",
                                                "stages": [{"duration": "5s", "target": 1}]}}),
     "has both 'stages' and a ramp"),
    ("a ramping arrival-rate without to", "script", lambda d: open_model(d, {"from": "1/s"}), "needs 'from' and 'to'"),
    ("an empty handler entry", "script", lambda d: workflow(d).update({"on-error": [{}]}), "empty entry"),
    ("a name on a handler entry", "script",
     lambda d: workflow(d).update({"on-error": [{"think": "1s", "name": "x"}]}), "'name' is for workflow steps"),
    ("an empty steps list", "script", lambda d: workflow(d).update(steps=[]), "has no steps"),
    ("an empty nodes map", "script", lambda d: graph(d, {}), "has no nodes"),
    ("controls.exec on a think node", "script",
     lambda d: d["workflows"].update(g={"nodes": {"a": {"think": "1s", "controls": {"exec": {"timeout": "1s"}}}}}),
     "controls.exec applies to an action node"),
    ("capabilities not a list", "script", lambda d: d["components"][0]["metadata"].update(capabilities="get"),
     "must be a list"),
    ("capacity on a file_blob", "script",
     lambda d: d["resources"].update(b={"type": "file_blob", "config": {"file": "resource.csv"},
                                        "capacity": {"size": 1}}), "capacity applies to pair_pool resources"),
    ("a bad checksum form", "script",
     lambda d: d["resources"].update(b={"type": "file_blob", "config": {"file": "resource.csv", "checksum": "md5:00"}}),
     "does not match its checksum"),
    ("bad enum: save-as scope", "script", lambda d: action(d).update({"save-as": {"var": "asset", "scope": "session"}}),
     "unknown save-as scope 'session'"),
    ("persist without dir", "script",
     lambda d: action(d).update({"save-as": {"var": "asset", "persist": {"filename": "a.json"}}}),
     "persist needs 'dir'"),
    ("config: unknown key", "config", lambda c: c.update(ticks="20ms"), "unknown key 'ticks' in config.yaml"),
    ("config: bad duration", "config", lambda c: c.update(tick="fast"), "tick must be a duration"),
    ("config: bad log level", "config", lambda c: c.update(log={"level": "loud"}), "unknown log level 'loud'"),
    ("config: both log and logging", "config", lambda c: c.update(log={"level": "warn"}, logging={"level": "info"}),
     "has both 'log' and 'logging'"),
    ("config: bad byte rate", "config", lambda c: c.update(network={"send-rate": "1 parsec/s"}),
     "network.send-rate must be a positive byte rate"),
]


def write_res_dir(tmp, script, config):
    res = os.path.join(tmp, "res")
    shutil.copytree(BASE, res)
    with open(os.path.join(res, "script.yaml"), "w") as f:
        yaml.safe_dump(script, f, sort_keys=False)
    with open(os.path.join(res, "config.yaml"), "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    return res


def test_schema_and_parser_refuse_the_same_bad_input():
    with open(os.path.join(BASE, "script.yaml")) as f:
        script = load_yaml(f)
    with open(os.path.join(BASE, "config.yaml")) as f:
        config = load_yaml(f) or {}
    with tempfile.TemporaryDirectory() as tmp:
        # The control: the document as written back is valid on both sides.
        res = write_res_dir(tmp, script, config)
        check(not errors(SCRIPT, script) and not errors(CONFIG, config), "the base example fails the schema")
        rc, out, err = run_ntx("validate", res)
        check(rc == 0, f"the base example fails ntx validate: exit {rc}: {err}")
        problems = []
        for what, which, edit, message in CASES:
            s, c = copy.deepcopy(script), copy.deepcopy(config)
            edit(s if which == "script" else c)
            schema_errs = errors(SCRIPT, s) + errors(CONFIG, c)
            shutil.rmtree(res)
            res = write_res_dir(tmp, s, c)
            rc, out, err = run_ntx("validate", res)
            if not schema_errs:
                problems.append(f"{what}: the schema accepts it")
            if rc != 2:
                problems.append(f"{what}: ntx validate exit {rc} (want 2): {err.strip()}")
            elif message not in err:
                problems.append(f"{what}: ntx validate does not say {message!r}: {err.strip()}")
        check(not problems, "\n  " + "\n  ".join(problems))
    print(f"  {len(CASES)} bad inputs refused by both the schema and ntx validate")


# --- the coarse drift check ---------------------------------------------------------------------------
CHECK_KEYS = re.compile(r'check_keys\(\s*f,\s*[^,]+,\s*(?:"[^"]*"|fmt::format\("[^"]*"[^)]*\)|\w+),\s*'
                        r'\{([^}]*)\}(?:\s*,\s*\{([^}]*)\})?\s*\)', re.S)
# Keys read outside check_keys: metadata.capabilities and .transport; the threshold maps (dsl/thresholds_pass.cpp).
OTHER_PARSER_KEYS = {"capabilities", "transport", "threshold", "condition", "abort-on-fail",
                     # workbook: the six sections (workbook::kSections), `sections` and `expose`; progress
                     # priorities by phase name: checked by the parser's own lists, not by check_keys
                     "timeline", "execution", "governance", "telemetry", "registers", "communications",
                     "sections", "expose", "initiating", "planning", "executing", "closing"}


def parser_keys():
    dsl = os.path.join(SOURCE, "libntx", "src", "dsl")
    src = ""
    for name in sorted(os.listdir(dsl)):  # the compiler's passes
        if name.endswith(".cpp"):
            with open(os.path.join(dsl, name)) as f:
                src += f.read()
    allowed, later, calls = set(), set(), 0
    for m in CHECK_KEYS.finditer(src):
        calls += 1
        allowed |= set(re.findall(r'"([^"]+)"', m.group(1)))
        if m.group(2):
            later |= set(re.findall(r'"([^"]+)"', m.group(2)))
    # Calls with a literal list (a list built in a variable, as in `check_keys(f, n, "x", names)`, is not read).
    literal_calls = len(re.findall(r'check_keys\(f,[^;]*?\{\s*"', src))
    return allowed, later - allowed, calls, literal_calls


def marked_new(schema, root):
    """The schema (or the definition it $refs) says it is new in this version."""
    if not isinstance(schema, dict):
        return False
    if NEW in str(schema.get("description", "")):
        return True
    if "$ref" in schema:
        return marked_new(root["definitions"].get(schema["$ref"].rsplit("/", 1)[-1], {}), root)
    return False


def schema_properties(root, node=None, inside_new=False, out=None):
    """(property name, marked new) for every property of every object schema, $ref'd definitions included."""
    node = root if node is None else node
    out = [] if out is None else out
    if isinstance(node, dict):
        inside_new = inside_new or NEW in str(node.get("description", ""))
        for k, v in (node.get("properties") or {}).items():
            out.append((k, inside_new or marked_new(v, root)))
        for v in node.values():
            schema_properties(root, v, inside_new, out)
    elif isinstance(node, list):
        for v in node:
            schema_properties(root, v, inside_new, out)
    return out


def test_parser_keys_and_schema_keys_match():
    allowed, later, calls, total = parser_keys()
    check(calls == total and calls >= 40, f"the regex read {calls} of {total} check_keys calls")
    props = schema_properties(SCRIPT_SCHEMA) + schema_properties(CONFIG_SCHEMA)
    names = {k for k, _ in props}
    missing = sorted(allowed - names)
    check(not missing, f"keys the DSL passes accept that no schema names: {missing}")
    known = allowed | later | OTHER_PARSER_KEYS
    unknown = sorted({k for k, new in props if not new and k not in known})
    check(not unknown, f"schema keys the parser does not know (mark them '{NEW}' if another branch adds them): "
                       f"{unknown}")
    unmarked = sorted({k for k, new in props if not new and k in later})
    check(not unmarked, f"schema keys the parser refuses as 'not supported yet', not marked '{NEW}': {unmarked}")
    print(f"  {calls} check_keys calls, {len(allowed)} keys accepted, all in the schemas")


if __name__ == "__main__":
    main([test_schemas_are_valid, test_schemas_are_generated, test_every_example_is_valid,
          test_dsl_md_script_blocks_are_valid, test_every_construct_is_accepted_by_both,
          test_schema_and_parser_refuse_the_same_bad_input, test_parser_keys_and_schema_keys_match])
