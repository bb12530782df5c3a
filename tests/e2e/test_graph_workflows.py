"""Graph workflows (nodes with controls.exec and controls.flow.transitions) run like step lists:
conditional transitions, a chosen start, per-node controls, exits; and the planning errors a graph
can have (unknown targets, unreachable nodes, a cycle with no way out, a read no path saves)."""
import tempfile

from harness import TEST_PLUGINS, action, check, main, run_script, scenario, validate_script

HEAD = f"""components:
  - {{name: probe, version: "1.0.0", entry: {TEST_PLUGINS}/ntx_probe.so}}
"""


def test_nodes_run_their_transitions():
    body = """
workflows:
  poll:
    start: first
    nodes:
      fail-fast:                   # never the start: reached only through a transition
        ref: fail
        controls:
          exec: {on-error: [{goto: next}]}
          flow: {transitions: [{to: done}]}
      first:
        action: probe.flaky
        with: {failures: "0"}
        save-as: c
        controls:
          flow:
            transitions:
              - {when: "c.calls < 3", to: first}       # three calls per user
              - {when: "env.user_id % 2 == 0", to: fail-fast}
              - {to: error_out}
      done:
        ref: ok
  slow:
    nodes:
      wait:
        ref: sleepy
        controls:
          exec: {timeout: 50ms, on-timeout: [{goto: closing.rollback}]}
actions:
  ok: {component: probe, call: sleep, with: {ms: "0"}}
  fail: {component: probe, call: fail}
  sleepy: {component: probe, call: sleep, with: {ms: "5000"}, timeout: 10s}
load:
  scenarios:
    - {name: poll, workflow: poll, user-count: 4}
    - {name: slow, workflow: slow, user-count: 3}
"""
    with tempfile.TemporaryDirectory() as tmp:
        _, r = run_script(tmp, HEAD + body, "--quiet")
        s = scenario(r, "poll")
        check(action(s, "poll.first")["ok"] == 12, f"poll.first {s['actions']}")
        # users 2 and 4 go through fail-fast (its error is counted, goto next leads on to done);
        # users 1 and 3 leave through error_out.
        check(action(s, "poll.fail-fast")["errors"] == 2 and action(s, "ok")["ok"] == 2, f"poll {s['actions']}")
        check(s["exits"]["error_out"] == 2, f"poll exits {s['exits']}")
        s = scenario(r, "slow")
        a = action(s, "slow.wait")
        check(a["timeouts"] == 3 and s["exits"]["rollback"] == 3 and s["exits"]["timeout_out"] == 0, f"slow {a} {s['exits']}")
        check(s["duration_s"] < 5, f"the node's own 50 ms timeout applied: {s['duration_s']} s")


def test_graph_mistakes_are_planning_errors():
    body = """
workflows:
  loops:
    nodes:
      a: {ref: ok, controls: {flow: {transitions: [{to: b}]}}}
      b: {ref: ok, controls: {flow: {transitions: [{to: a}]}}}
  typo:
    nodes:
      a: {ref: ok, controls: {flow: {transitions: [{when: "true", to: bb}, {to: closing}]}}}
      b: {ref: ok}
  reads:
    nodes:
      a: {ref: ok, controls: {flow: {transitions: [{when: "true", to: c}, {to: b}]}}}
      b: {ref: save, controls: {flow: {transitions: [{to: c}]}}}
      c: {ref: uses-saved}
  unreachable:
    nodes:
      a: {ref: ok}
      island: {ref: ok}
actions:
  ok: {component: probe, call: sleep, with: {ms: "0"}}
  save: {component: probe, call: flaky, with: {failures: "0"}, save-as: v}
  uses-saved: {component: probe, call: sleep, with: {ms: "{{v.calls}}"}}
load:
  scenarios:
    - {name: s, workflow: loops, user-count: 1}
"""
    stderr = validate_script(HEAD + body)
    check("workflow 'loops' can cycle forever: a -> b -> a (no transition leads to an exit)" in stderr, stderr)
    check("transition to 'bb': workflow 'typo' has no node of that name (did you mean 'b'?)" in stderr, stderr)
    check("node 'b' is never reached from 'a'" in stderr, stderr)
    check("node 'island' is never reached from 'a'" in stderr, stderr)
    # c is reached from a directly (nothing saved) and through b (v saved): a read some path
    # lacks is allowed ("can have saved"); the error is only for a read no path saves.
    check("reads 'v'" not in stderr, stderr)


def test_a_read_no_path_saves_is_an_error():
    body = """
workflows:
  w:
    nodes:
      a: {ref: uses-saved, controls: {flow: {transitions: [{to: b}]}}}
      b: {ref: save}
actions:
  save: {component: probe, call: flaky, with: {failures: "0"}, save-as: v}
  uses-saved: {component: probe, call: sleep, with: {ms: "{{v.calls}}"}}
load:
  scenarios:
    - {name: s, workflow: w, user-count: 1}
"""
    stderr = validate_script(HEAD + body)
    check("action 'uses-saved' (node 'a' of workflow 'w') reads 'v' in with.ms, but no path from 'a' to node 'a' saves it"
          in stderr, stderr)


if __name__ == "__main__":
    main([test_nodes_run_their_transitions, test_graph_mistakes_are_planning_errors, test_a_read_no_path_saves_is_an_error])
