// The DSL compiler's passes (internal to dsl/): script.yaml / config.yaml / resource/config.yaml ->
// Script, with every problem reported at its file:line:col. script_compiler.cpp runs the passes in
// order over one Compilation (the diagnostics sink, the reader, the Script under construction and
// the names the passes hand on); each pass file does one job:
//   parse_common.cpp        YAML helpers (typed scalars, key checks, did-you-mean)
//   config_pass.cpp         config.yaml
//   components_pass.cpp     components, resource/config.yaml
//   resources_pass.cpp      resources (pair_pool, file_blob, kv_store), reads of {{resource.*}}
//   variables_pass.cpp      save-as variables, name resolution for templates and expressions
//   actions_pass.cpp        actions, their execution controls and handlers, the plain step kinds
//   workflows_pass.cpp      `steps` workflows (if, loop, goto, parallel), conditions
//   nodes_pass.cpp          graph workflows (`nodes`), their reachability and variable graph
//   load_pass.cpp           load (scenarios, profiles), monitoring, exits
//   workbook_pass.cpp       workbook schema, update-workbook
//   flow_checks.cpp         the variable graph (data flow) of `steps` workflows and handlers
//   thresholds_pass.cpp     thresholds, progress
//   foreign_words.cpp       hints for k6 / Locust / Artillery words in unknown keys
//   overrides_pass.cpp      --users/--rate/--duration/--scenario, and env.<KEY> values (-e, environment)
// Unknown keys are errors (a typo must never be silently ignored); keys the DSL defines but this
// version does not implement yet are errors too, saying so. No pass opens a file: what they read
// comes through the SourceReader.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/script.hpp"
#include "dsl/source_reader.hpp"

namespace ntx::dsl::passes {

// Reports problems of one file.
struct FileCtx {
    std::string file;
    std::vector<Diagnostic>& out;

    SourceLoc loc(const YAML::Node& n) const {
        auto m = n.Mark();
        if (m.is_null()) return {file, 0, 0};
        return {file, m.line + 1, m.column + 1};
    }
    void error(const YAML::Mark& m, std::string message, std::string hint = {}) {
        Diagnostic d{file, m.is_null() ? 0 : m.line + 1, m.is_null() ? 0 : m.column + 1, std::move(message),
                     std::move(hint)};
        out.push_back(std::move(d));
    }
    void error(const YAML::Node& n, std::string message, std::string hint = {}) {
        error(n.Mark(), std::move(message), std::move(hint));
    }
};

// One compilation: what the passes share.
struct Compilation {
    std::filesystem::path res_dir;  // absolute
    const SourceReader& reader;
    std::vector<Diagnostic>& out;
    const SourceTexts* texts = nullptr;
    Script script;
    std::map<std::string, uint32_t> named_actions;  // UINT32_MAX: known name, broken body
    std::set<size_t> resolved_scenarios;            // scenarios whose workflow was found (by index)
    // StepLabels::titles of each workflow and each parallel branch (same indices as script's).
    std::vector<std::vector<std::string>> workflow_titles, branch_titles;
    const std::vector<std::string> no_titles;
    std::vector<std::optional<std::set<uint32_t>>> branch_saves_cache;  // branch_saves(), by branch
    const Overrides* overrides = nullptr;  // never null once compiling (load_res_dir)
    // script.yaml `globals:`: name -> its fields (a scalar is its `body`), read as {{global.<name>}}.
    std::map<std::string, Fields> globals;
};

// Step names and gotos of one `steps` list, resolved once the list is compiled.
struct StepLabels {
    std::map<std::string, uint32_t> names;  // step name -> index
    struct Goto {
        uint32_t step;
        std::string target;
        YAML::Node node;
    };
    std::vector<Goto> gotos;
    // Per step index: the step as the variable graph's paths name it (w[2].else[1], as inline
    // actions are named); empty for the steps control flow adds (an else's jump, a loop's next).
    std::vector<std::string> titles;
};

// parse_common.cpp
const char* type_name(const YAML::Node& n);
bool expect_map(FileCtx& f, const YAML::Node& n, std::string_view what);
bool expect_seq(FileCtx& f, const YAML::Node& n, std::string_view what);
void check_keys(FileCtx& f, const YAML::Node& map, std::string_view where, std::vector<std::string_view> allowed,
                std::vector<std::string_view> later = {});
std::optional<std::string> scalar(FileCtx& f, const YAML::Node& n, std::string_view what);
std::optional<uint64_t> uint_value(FileCtx& f, const YAML::Node& n, std::string_view what);
std::optional<uint64_t> duration(FileCtx& f, const YAML::Node& n, std::string_view what);
std::optional<bool> bool_value(FileCtx& f, const YAML::Node& n, std::string_view what);
std::optional<double> rate(FileCtx& f, const YAML::Node& n, std::string_view what);
std::vector<std::string> string_list(FileCtx& f, const YAML::Node& n, std::string_view what);
boost::json::value yaml_to_json(const YAML::Node& n);
std::optional<YAML::Node> load_yaml(Compilation& cx, FileCtx& f, const std::filesystem::path& path,
                                    const std::string* text = nullptr);
void flatten(const YAML::Node& n, const std::string& prefix, std::vector<std::pair<std::string, YAML::Node>>& out);
std::string display(Compilation& cx, const std::filesystem::path& p);

// The index of the item called `name` in `items` (anything with a .name); otherwise reports
// "unknown <what> 'name'" at `node`, with a did-you-mean hint when a name is close.
template <class T>
std::optional<uint32_t> find_named(FileCtx& f, const YAML::Node& node, const std::vector<T>& items,
                                   const std::string& name, std::string_view what, std::string_view otherwise = {}) {
    for (size_t i = 0; i < items.size(); ++i)
        if (items[i].name == name) return static_cast<uint32_t>(i);
    std::vector<std::string_view> names;
    for (const auto& item : items) names.push_back(item.name);
    auto guess = closest_match(name, names);
    f.error(node, fmt::format("unknown {} '{}'", what, name),
            guess.empty() ? std::string(otherwise) : fmt::format("did you mean '{}'?", guess));
    return std::nullopt;
}

// foreign_words.cpp
// The hint for a key another load tool uses (k6 `vus`, Locust `users`, Artillery `phases`) where ntx
// says something else, in check_keys' context `where` ("a scenario", "an action", "script.yaml").
std::optional<std::string> foreign_word_hint(std::string_view key, std::string_view where);

// config_pass.cpp
void parse_config(Compilation& cx);
void parse_features(Compilation& cx, FileCtx& f, const YAML::Node& n);
void apply_feature_overrides(Compilation& cx);

// components_pass.cpp
// The protocols that ship with ntx (http, ftp): found by their name alone, no `components` entry needed.
bool shipped_protocol(std::string_view name);
// The built-in resource-manager's calls (provider.calls, metadata.capabilities): allocate_pair,
// release_pair, mount_file.
bool builtin_call(std::string_view call);
void check_builtin(FileCtx& f, const ComponentSpec& spec, const YAML::Node& c);
// Declares `name` as a component (entry: the shipped plugin, any version) when it is a shipped
// protocol that no component of the script declares yet; `at` is where the script first uses it.
void implicit_component(Compilation& cx, FileCtx& f, const std::string& name, const YAML::Node& at);
void parse_components(Compilation& cx, FileCtx& f, const YAML::Node& n);
void parse_component_configs(Compilation& cx);

// resources_pass.cpp
void parse_resources(Compilation& cx, FileCtx& f, const YAML::Node& n);
void parse_blob(Compilation& cx, FileCtx& f, const YAML::Node& key, const YAML::Node& r);
void parse_provider(Compilation& cx, FileCtx& f, const YAML::Node& p, PoolSpec& pool, std::string_view type);
void parse_health_check(FileCtx& f, const YAML::Node& h, PoolSpec& pool);
void parse_kv_store(Compilation& cx, FileCtx& f, const YAML::Node& key, const YAML::Node& r);
std::optional<uint32_t> kv_slot(Compilation& cx, std::string_view name);
void check_resource_reads(Compilation& cx);

// variables_pass.cpp
void add_variable(Compilation& cx, const std::string& name, VarScope scope = VarScope::task);
std::optional<std::string> save_as_name(FileCtx& f, const YAML::Node& s);
void parse_extracts(FileCtx& f, const YAML::Node& n, std::vector<ExtractSpec>& out);
void parse_checks(Compilation& cx, FileCtx& f, const YAML::Node& a, ActionSpec& spec);
void parse_think(FileCtx& f, const YAML::Node& n, Step& st);
std::optional<VarScope> save_as_scope(FileCtx& f, const YAML::Node& s);
const char* scope_name(VarScope s);
void collect_variables(Compilation& cx, FileCtx& f, const YAML::Node& r);
Template::VariableResolver resolver(Compilation& cx);

// actions_pass.cpp
void parse_actions(Compilation& cx, FileCtx& f, const YAML::Node& n);
std::optional<ActionSpec> parse_action_body(Compilation& cx, FileCtx& f, const YAML::Node& a, const std::string& name,
                                            const YAML::Node& name_node, bool inline_step);
void parse_exec(Compilation& cx, FileCtx& f, const YAML::Node& a, ActionSpec& spec, const std::string& name);
std::shared_ptr<const PersistSpec> parse_persist(Compilation& cx, FileCtx& f, const YAML::Node& p);
void parse_retry(FileCtx& f, const YAML::Node& r, std::string_view where, uint32_t& max, uint64_t& backoff,
                 uint64_t& backoff_max);
void parse_handler(Compilation& cx, FileCtx& f, const YAML::Node& n, Handler& h, bool timeout, const std::string& where);
bool parse_plain_step(Compilation& cx, FileCtx& f, const YAML::Node& step, const std::string& inline_name,
                      std::vector<Step>& out);

// workflows_pass.cpp
void parse_workflows(Compilation& cx, FileCtx& f, const YAML::Node& n);
void parse_steps(Compilation& cx, FileCtx& f, const YAML::Node& seq, const std::string& prefix, WorkflowSpec& wf,
                 StepLabels& labels);
void resolve_gotos(FileCtx& f, WorkflowSpec& wf, const StepLabels& labels);
std::shared_ptr<const Expression> condition(Compilation& cx, FileCtx& f, const YAML::Node& n, std::string_view what);
std::optional<Route> route_target(Compilation& cx, FileCtx& f, const YAML::Node& at, std::string_view target);
// A parallel step (`n`: its list of branches), appended to `out`; `name` prefixes its branches' names.
void parse_parallel(Compilation& cx, FileCtx& f, const YAML::Node& n, const std::string& name, std::vector<Step>& out);

// nodes_pass.cpp
void parse_nodes(Compilation& cx, FileCtx& f, const YAML::Node& w, WorkflowSpec& wf);

// load_pass.cpp
void parse_load(Compilation& cx, FileCtx& f, const YAML::Node& n);
void parse_profiles(Compilation& cx, FileCtx& f, const YAML::Node& n);
void parse_model(Compilation& cx, FileCtx& f, const YAML::Node& s, ScenarioSpec& sc);
void parse_monitoring(Compilation& cx, FileCtx& f, const YAML::Node& m);
void parse_exits(FileCtx& f, const YAML::Node& n, std::string_view where, Route& error, Route& timeout,
                 uint64_t* max_duration_ms);

// workbook_pass.cpp
void parse_workbook(Compilation& cx, FileCtx& f, const YAML::Node& n);
void parse_workbook_updates(Compilation& cx, FileCtx& f, const YAML::Node& n, Step& st,
                            std::string_view where = "update-workbook");

// flow_checks.cpp
std::set<uint32_t> readable_anytime(Compilation& cx);
void check_reads(Compilation& cx, const Step& step, const std::set<uint32_t>& saved, const std::string& what,
                 const std::string& why);
void check_variable_graph(Compilation& cx);
void collect_saves(Compilation& cx, const WorkflowSpec& wf, std::set<uint32_t>& saved);
const std::set<uint32_t>& branch_saves(Compilation& cx, uint32_t b);
void check_flow(Compilation& cx, const WorkflowSpec& wf, const std::vector<std::string>& titles,
                const std::set<uint32_t>& entry);
std::string path_to(Compilation& cx, const WorkflowSpec& wf, const std::vector<std::string>& titles,
                    const std::vector<uint32_t>& parent, uint32_t i, const std::set<uint32_t>& missing);

// thresholds_pass.cpp
std::vector<Threshold> compile_thresholds(const YAML::Node& node, const std::string& file, const Script& script,
                                          std::vector<Diagnostic>& diagnostics);
void parse_progress_rollback(Compilation& cx, FileCtx& f, const YAML::Node& n);
void parse_progress(Compilation& cx, FileCtx& f, const YAML::Node& n);

// overrides_pass.cpp
// The variable slot of `env.<key>` (a constant: an Overrides::env value, else the process
// environment's); nullopt when neither defines it.
std::optional<uint32_t> env_slot(Compilation& cx, std::string_view key);
void apply_overrides(Compilation& cx, FileCtx& f, const YAML::Node& root);

}  // namespace ntx::dsl::passes
