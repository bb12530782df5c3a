// ntx::ScriptBuilder: a scenario written in C++ instead of script.yaml.
//
// The builder does not have a model of its own: it writes the DSL document (script.yaml, and
// config.yaml) that a test engineer would write, and Host runs that text through the same parser and
// the same validator as a res_dir. So whatever script.yaml accepts or refuses, the builder accepts or
// refuses, with the same messages. Values are written in the DSL's own syntax ("2s", "200/s",
// "{{resource.ip}}"), and every setter records where it was called (std::source_location): a
// diagnostic is reported at that builder call (`example.cpp:42:5: error: ...`), followed by the line of
// the generated script.yaml it is about.
//
// Ownership: the builder and the BuiltScript it makes are plain values; the sub-builders
// (ActionBuilder ...) returned by its methods refer into the ScriptBuilder and are valid while it is.
// Not thread-safe: build a script on one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <vector>

#include "ntx/diagnostics.hpp"
#include "ntx/export.hpp"

NTX_BEGIN_NAMESPACE

// The builder's output: script.yaml and config.yaml as text, the directory relative paths are read
// from, and where each generated line came from. Host::validate/start/launch take it as they take a
// res_dir; write_to() turns it into a res_dir `ntx run` takes.
class NTX_API BuiltScript {
public:
    // One builder call and the first line it wrote.
    struct Origin {
        int yaml_line = 0;    // 1-based line in script_yaml() (config_yaml() when `config`); 0: none
        std::string file;     // the builder call: file, line, column
        int line = 0;
        int column = 0;
        bool config = false;
    };

    const std::string& script_yaml() const { return script_yaml_; }
    const std::string& config_yaml() const { return config_yaml_; }
    // Manifests, `entry` paths and resource/config.yaml are read relative to it (a res_dir's role).
    const std::string& base_dir() const { return base_dir_; }
    const std::vector<Origin>& origins() const { return origins_; }

    // Writes script.yaml (and config.yaml when any config was set) into `dir`, created if needed.
    // Relative paths in the script still mean base_dir(): write into base_dir() to run it with `ntx run`.
    // Throws RuntimeFailure when the files cannot be written.
    void write_to(const std::string& dir) const;

    // A diagnostic about the generated script.yaml, moved to the builder call that wrote its line (the
    // generated line is kept in the message). Diagnostics about other files are returned unchanged.
    Diagnostic locate(const Diagnostic& d) const;

private:
    friend class ScriptBuilder;
    std::string script_yaml_, config_yaml_, base_dir_;
    std::vector<Origin> origins_;
};

class ScriptBuilder;

// The setters every part of a script shares. `key` and `value` are the DSL's own words, so anything
// script.yaml can say can be said here, also what has no typed setter:
//   set(key, scalar)        key: scalar
//   set_list(key, items)    key: [items...]
//   set_yaml(key, text)     key: <the YAML text, parsed>  (maps, nested lists, handlers ...)
// Nested keys use dots: set("metadata.owner", "qa") writes metadata: {owner: qa}.
template <class Self>
class EntityBuilder {
public:
    Self& set(const std::string& key, const std::string& value,
              std::source_location at = std::source_location::current());
    Self& set_list(const std::string& key, const std::vector<std::string>& items,
                   std::source_location at = std::source_location::current());
    Self& set_yaml(const std::string& key, const std::string& yaml_text,
                   std::source_location at = std::source_location::current());

protected:
    EntityBuilder(ScriptBuilder* owner, std::vector<std::string> path) : owner_(owner), path_(std::move(path)) {}
    Self& self() { return static_cast<Self&>(*this); }
    ScriptBuilder* owner_;
    std::vector<std::string> path_;  // where the entity is in script.yaml ("actions", "probe-get")
};

// components[]: a protocol (a plugin .so, or one registered with Host::register_protocol).
class NTX_API ComponentBuilder : public EntityBuilder<ComponentBuilder> {
public:
    ComponentBuilder& version(const std::string& semver, std::source_location at = std::source_location::current());
    // A bare plugin name (searched on the plugin path, or registered in-process) or a .so path.
    ComponentBuilder& entry(const std::string& entry, std::source_location at = std::source_location::current());
    ComponentBuilder& capabilities(const std::vector<std::string>& calls,
                                   std::source_location at = std::source_location::current());

private:
    friend class ScriptBuilder;
    using EntityBuilder::EntityBuilder;
};

// resources.<name> of type pair_pool: items of a manifest (CSV) leased one per user.
class NTX_API PairPoolBuilder : public EntityBuilder<PairPoolBuilder> {
public:
    // The CSV manifest (relative to base_dir) and its columns.
    PairPoolBuilder& manifest(const std::string& path, const std::vector<std::string>& fields,
                              std::source_location at = std::source_location::current());
    PairPoolBuilder& capacity(uint64_t size, std::source_location at = std::source_location::current());
    PairPoolBuilder& shared(std::source_location at = std::source_location::current());  // guard: shared
    PairPoolBuilder& ttl(const std::string& duration, std::source_location at = std::source_location::current());

private:
    friend class ScriptBuilder;
    using EntityBuilder::EntityBuilder;
};

// actions.<name>: one call of a component's capability.
class NTX_API ActionBuilder : public EntityBuilder<ActionBuilder> {
public:
    ActionBuilder& component(const std::string& name, std::source_location at = std::source_location::current());
    ActionBuilder& call(const std::string& capability, std::source_location at = std::source_location::current());
    // with.<key>: a templated parameter; dotted keys nest (with("headers.Content-Type", ...)).
    ActionBuilder& with(const std::string& key, const std::string& value,
                        std::source_location at = std::source_location::current());
    ActionBuilder& timeout(const std::string& duration, std::source_location at = std::source_location::current());
    ActionBuilder& save_as(const std::string& variable, std::source_location at = std::source_location::current());

private:
    friend class ScriptBuilder;
    using EntityBuilder::EntityBuilder;
};

// workflows.<name>: a sequential list of steps.
class NTX_API WorkflowBuilder : public EntityBuilder<WorkflowBuilder> {
public:
    WorkflowBuilder& step(const std::string& action, std::source_location at = std::source_location::current());
    WorkflowBuilder& think(const std::string& duration, std::source_location at = std::source_location::current());
    WorkflowBuilder& log(const std::string& message, std::source_location at = std::source_location::current());
    // Any other step (if/then/else, loop, goto ...), as the YAML of one list entry.
    WorkflowBuilder& step_yaml(const std::string& yaml_text, std::source_location at = std::source_location::current());
    WorkflowBuilder& timeout(const std::string& duration, std::source_location at = std::source_location::current());
    // on-error: [{goto: <exit>}] (error_out, timeout_out, closing, monitoring.retry, ...).
    WorkflowBuilder& on_error_goto(const std::string& exit, std::source_location at = std::source_location::current());

private:
    friend class ScriptBuilder;
    using EntityBuilder::EntityBuilder;
    int steps_ = 0;
};

// load.profiles.<name>: the target of online users over time, as stages.
class NTX_API ProfileBuilder : public EntityBuilder<ProfileBuilder> {
public:
    ProfileBuilder& start_users(uint64_t users, std::source_location at = std::source_location::current());
    ProfileBuilder& stage(const std::string& duration, uint64_t target_users,
                          std::source_location at = std::source_location::current());

private:
    friend class ScriptBuilder;
    using EntityBuilder::EntityBuilder;
    int stages_ = 0;
};

// load.scenarios[]: who runs a workflow, how many, how fast.
class NTX_API ScenarioBuilder : public EntityBuilder<ScenarioBuilder> {
public:
    ScenarioBuilder& workflow(const std::string& name, std::source_location at = std::source_location::current());
    // Closed model.
    ScenarioBuilder& users(uint64_t count, std::source_location at = std::source_location::current());
    ScenarioBuilder& spawn_rate(const std::string& rate, std::source_location at = std::source_location::current());
    ScenarioBuilder& profile(const std::string& name, std::source_location at = std::source_location::current());
    ScenarioBuilder& task_duration(const std::string& duration,
                                   std::source_location at = std::source_location::current());
    // Open model: arrivals at `rate` for `duration`, at most `max_users` at once.
    ScenarioBuilder& arrivals(const std::string& rate, const std::string& duration, uint64_t max_users,
                              std::source_location at = std::source_location::current());
    ScenarioBuilder& max_duration(const std::string& duration, std::source_location at = std::source_location::current());
    // user.inherit: each user leases one item of this pool for its life.
    ScenarioBuilder& inherit(const std::string& pool, std::source_location at = std::source_location::current());

private:
    friend class ScriptBuilder;
    using EntityBuilder::EntityBuilder;
    int inherits_ = 0;
};

class NTX_API ScriptBuilder {
public:
    ScriptBuilder(std::source_location at = std::source_location::current());
    ~ScriptBuilder();
    // Not movable: the sub-builders it handed out point at it.
    ScriptBuilder(const ScriptBuilder&) = delete;
    ScriptBuilder& operator=(const ScriptBuilder&) = delete;

    // The directory relative paths are read from (manifests, entry paths, resource/config.yaml).
    // Default: the current directory at build().
    ScriptBuilder& base_dir(const std::string& dir);

    // Each returns a builder of the new part, valid while this ScriptBuilder is. Adding a name twice is
    // an error build() reports.
    ComponentBuilder& component(const std::string& name, std::source_location at = std::source_location::current());
    // The built-in resource-manager component (provider of pair_pool resources).
    ScriptBuilder& resource_manager(std::source_location at = std::source_location::current());
    PairPoolBuilder& pair_pool(const std::string& name, std::source_location at = std::source_location::current());
    ActionBuilder& action(const std::string& name, std::source_location at = std::source_location::current());
    WorkflowBuilder& workflow(const std::string& name, std::source_location at = std::source_location::current());
    ProfileBuilder& profile(const std::string& name, std::source_location at = std::source_location::current());
    ScenarioBuilder& scenario(const std::string& name, std::source_location at = std::source_location::current());
    // thresholds: ["<metric> <op> <limit>", ...], e.g. "probe-get.p99 < 300ms".
    ScriptBuilder& threshold(const std::string& expression, std::source_location at = std::source_location::current());
    // config.yaml: a key of the run configuration, in its own syntax (config("tick", "20ms")).
    ScriptBuilder& config(const std::string& key, const std::string& value,
                          std::source_location at = std::source_location::current());
    // Any other top-level key of script.yaml (monitoring ...), as YAML text.
    ScriptBuilder& set_yaml(const std::string& key, const std::string& yaml_text,
                            std::source_location at = std::source_location::current());

    // The documents. Throws InvalidInput, at the builder calls, for what the builder itself can tell
    // (a name added twice, set_yaml text that is not YAML); everything else is the validator's, run by
    // Host::validate/start/launch.
    BuiltScript build() const;

private:
    template <class>
    friend class EntityBuilder;
    enum class ValueKind { scalar, list, yaml };
    // Records `value` at `path` + `key` (dotted keys nest), remembering the call `at`.
    void put(const std::vector<std::string>& path, const std::string& key, const std::vector<std::string>& value,
             ValueKind kind, const std::source_location& at);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The shared setters, defined here so that every sub-builder has them.
template <class Self>
Self& EntityBuilder<Self>::set(const std::string& key, const std::string& value, std::source_location at) {
    owner_->put(path_, key, {value}, ScriptBuilder::ValueKind::scalar, at);
    return self();
}
template <class Self>
Self& EntityBuilder<Self>::set_list(const std::string& key, const std::vector<std::string>& items,
                                    std::source_location at) {
    owner_->put(path_, key, items, ScriptBuilder::ValueKind::list, at);
    return self();
}
template <class Self>
Self& EntityBuilder<Self>::set_yaml(const std::string& key, const std::string& yaml_text, std::source_location at) {
    owner_->put(path_, key, {yaml_text}, ScriptBuilder::ValueKind::yaml, at);
    return self();
}

NTX_END_NAMESPACE
