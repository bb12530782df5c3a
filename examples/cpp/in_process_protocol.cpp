// ntx_example_in_process_protocol: a harness that load-tests a client library it already has, through a
// protocol written in its own code (no plugin .so). Here the "library" is a small thread-safe
// key-value store; the protocol `kv` offers the calls put and get, and a script built in code runs
// 100 users doing put -> get -> check on it. Exit 0 when every action succeeded and the store holds
// what the users wrote.
#include <cstdio>
#include <map>
#include <mutex>
#include <ntx/ntx.hpp>
#include <ntx/protocol.hpp>
#include <optional>
#include <string>

// The harness's existing client library.
class KeyValueStore {
public:
    void put(const std::string& key, const std::string& value) {
        std::lock_guard lock(mutex_);
        data_[key] = value;
    }
    std::optional<std::string> get(const std::string& key) const {
        std::lock_guard lock(mutex_);
        auto it = data_.find(key);
        return it == data_.end() ? std::nullopt : std::optional<std::string>(it->second);
    }
    size_t size() const {
        std::lock_guard lock(mutex_);
        return data_.size();
    }

private:
    mutable std::mutex mutex_;  // loops call the protocol concurrently
    std::map<std::string, std::string> data_;
};

// The protocol: a script's actions become calls of the library. Each call ends at once (the store
// does not block); a protocol wrapping an asynchronous library would keep action.pending() and end
// the action from its callback instead.
class KvProtocol : public ntx::Protocol {
public:
    explicit KvProtocol(KeyValueStore& store) : Protocol("kv", "1.0.0", {"put", "get"}), store_(store) {}

    void run_action(ntx::Action& action) override {
        const std::string key(action.param("key"));
        if (key.empty()) {
            action.fail(NTX_E_INVALID, "with.key is required");
        } else if (action.call() == "put") {
            store_.put(key, std::string(action.param("value")));
            action.complete();
        } else if (auto value = store_.get(key)) {
            action.complete({{"value", *value}});  // what save-as reads: {{got.value}}
        } else {
            action.fail(NTX_E_STATUS, "no such key");
        }
    }

private:
    KeyValueStore& store_;
};

int main() {
    KeyValueStore store;
    KvProtocol kv(store);  // must outlive the runs that use it
    ntx::Host host;
    ntx::register_protocol(host, kv);  // `entry: kv` now resolves to this object

    ntx::ScriptBuilder b;
    b.component("store").version("1.0.0").entry("kv").capabilities({"put", "get"});
    b.action("write").component("store").call("put").with("key", "user-{{env.user_id}}").with("value",
                                                                                                "v{{env.user_id}}");
    b.action("read").component("store").call("get").with("key", "user-{{env.user_id}}").save_as("got");
    b.action("read-missing").component("store").call("get").with("key", "nobody");
    b.workflow("put-get")
        .step("write")
        .step("read")
        .step_yaml("{if: \"got.value != 'v' + string(env.user_id)\", then: [{goto: error_out}]}")  // checks the read
        .step("read-missing");
    b.scenario("kv-users").workflow("put-get").users(100).spawn_rate("1000/s");

    ntx::RunOptions options;
    options.quiet = true;
    try {
        ntx::Report report = host.start(b.build(), options);
        const auto& s = report.scenarios.at(0);
        for (const auto& a : s.actions)
            std::printf("%-13s ok %llu, errors %llu\n", a.name.c_str(), static_cast<unsigned long long>(a.ok),
                        static_cast<unsigned long long>(a.errors));
        std::printf("store holds %zu keys; %llu users completed, %llu ended through error_out\n", store.size(),
                    static_cast<unsigned long long>(s.completed), static_cast<unsigned long long>(s.exit_error));
        // write and read succeed for all 100 users; read-missing fails for all (a counted error, which
        // routes the task to error_out, the workflow's default).
        bool ok = store.size() == 100 && s.actions.size() == 3 && s.actions[0].ok == 100 && s.actions[1].ok == 100 &&
                  s.actions[2].errors == 100 && s.exit_error == 100;
        return ok ? 0 : 1;
    } catch (const ntx::InvalidInput& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
