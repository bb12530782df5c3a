#include "wasm/aot_guest.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

#include "wasm/wasm_module.hpp"

namespace ntx::wasm {

namespace {

bool parse_types(std::string_view letters, std::vector<wi::ValueType>& out) {
    for (char c : letters) {
        if (c == 'i') out.push_back(wabt::Type::I32);
        else if (c == 'I') out.push_back(wabt::Type::I64);
        else return false;
    }
    return true;
}

// "ii>i" -> (func (param i32 i32) (result i32)); empty for what is not a function of i32/i64.
std::optional<wi::FuncType> parse_signature(std::string_view sig) {
    auto arrow = sig.find('>');
    if (arrow == std::string_view::npos) return std::nullopt;
    std::vector<wi::ValueType> params, results;
    if (!parse_types(sig.substr(0, arrow), params) || !parse_types(sig.substr(arrow + 1), results)) return std::nullopt;
    return wi::FuncType(params, results);
}

constexpr int kUnreachable = 5;  // WASM_RT_TRAP_UNREACHABLE

const char* trap_text(int code) {
    switch (code) {  // wasm_rt_trap_t (wasm-rt.h, explicit bounds checks)
        case 1: return "out of bounds memory access";
        case 2: return "integer overflow";
        case 3: return "integer divide by zero";
        case 4: return "invalid conversion to integer";
        case 5: return "unreachable executed";
        case 6: return "indirect call signature mismatch";
        case 7: return "uncaught exception";
        case 8: return "call stack exhausted";
        default: return "trap";
    }
}

class AotGuest final : public Guest {
public:
    explicit AotGuest(const Module& m) : module_(m), aot_(*m.aot()) {}
    ~AotGuest() override {
        if (instance_) aot_.free_instance(instance_);
    }

    bool start(std::string& error) override {
        for (const auto& imp : module_.imports()) {
            std::string mismatch;
            ImportFn fn = imp.type ? module_.resolver().find(imp.module, imp.name, *imp.type, mismatch) : ImportFn{};
            if (!fn) {
                error = "unresolved import " + imp.module + "." + imp.name;
                return false;
            }
            imports_.push_back(std::move(fn));
        }
        int code = aot_.new_instance(this, &instance_);
        if (code != 0) {
            instance_ = nullptr;
            error = std::string("instantiation failed: ") + (code < 0 ? "out of memory" : trap_text(code));
            return false;
        }
        if (has("_initialize")) {
            Call c = call("_initialize", {});
            if (!c.ok()) {
                error = "_initialize failed: " + c.message;
                return false;
            }
        }
        return true;
    }

    Call call(std::string_view name, Args args) override {
        Call out;
        const auto& exports = module_.export_list();
        auto it = find_export(name);
        if (it == exports.end() || !it->type || broken_) {
            out.outcome = Outcome::trap;
            out.message = broken_ ? "the instance is unusable after an earlier trap" : "no export '" + std::string(name) + "'";
            return out;
        }
        const wi::FuncType& type = *it->type;
        uint64_t a[16] = {0}, r = 0;
        size_t i = 0;
        for (auto it2 = args.begin(); it2 != args.end() && i < 16 && i < type.params.size(); ++it2, ++i)
            a[i] = type.params[i] == wabt::Type::I64 ? it2->Get<uint64_t>() : it2->Get<uint32_t>();
        pending_trap_.clear();
        uint64_t* fuel = aot_.fuel ? aot_.fuel(instance_) : nullptr;
        if (fuel) *fuel = module_.fuel();
        int code = aot_.call_export(instance_, static_cast<uint32_t>(it - exports.begin()), a, &r);
        if (code != 0) {
            broken_ = true;
            out.outcome = Outcome::trap;
            out.message = !pending_trap_.empty() ? pending_trap_ : trap_text(code);
            if (code == kUnreachable && fuel && *fuel == 0 && pending_trap_.empty()) {
                out.outcome = Outcome::fuel;
                out.message = "ran past its budget of " + std::to_string(module_.fuel()) + " calls and loop iterations";
            }
            return out;
        }
        for (auto t : type.results)
            out.results.push_back(t == wabt::Type::I64 ? wi::Value::Make(r) : wi::Value::Make(static_cast<uint32_t>(r)));
        return out;
    }

    bool has(std::string_view name) const override { return module_.exports(name); }

    uint8_t* span(uint64_t ptr, uint64_t len) override {
        uint8_t* base = nullptr;
        uint64_t size = 0;
        if (!instance_) return nullptr;
        aot_.memory(instance_, &base, &size);
        if (ptr > size || len > size - ptr) return nullptr;
        return base + ptr;
    }

    uint64_t memory_size() override {
        uint8_t* base = nullptr;
        uint64_t size = 0;
        if (instance_) aot_.memory(instance_, &base, &size);
        return size;
    }

    // Called by the glue for every import of this instance (ctx is the AotGuest).
    static int on_import(void* ctx, uint32_t index, const uint64_t* args, uint64_t* result) {
        auto* g = static_cast<AotGuest*>(ctx);
        const auto& imp = g->module_.imports().at(index);
        // The outermost import call reuses the instance's vectors (no allocation once grown); a nested
        // one (an import that calls back into the guest, which calls an import) gets its own.
        wi::Values own_params, own_results;
        const bool outer = g->import_depth_++ == 0;
        wi::Values& params = outer ? g->params_ : own_params;
        wi::Values& results = outer ? g->results_ : own_results;
        params.clear();
        for (size_t i = 0; i < imp.type->params.size(); ++i)
            params.push_back(imp.type->params[i] == wabt::Type::I64 ? wi::Value::Make(args[i])
                                                                    : wi::Value::Make(static_cast<uint32_t>(args[i])));
        results.assign(imp.type->results.size(), wi::Value{});
        std::string trap;
        const bool failed = wabt::Failed(g->imports_[index](*g, params, results, trap));
        --g->import_depth_;
        if (failed) {
            g->pending_trap_ = trap;
            return 1;
        }
        if (!results.empty())
            *result = imp.type->results[0] == wabt::Type::I64 ? results[0].Get<uint64_t>() : results[0].Get<uint32_t>();
        return 0;
    }

private:
    // The export named `name`: the adapter calls a handful of exports by literal names, so the last
    // few lookups are remembered by the name's address (no string comparison per call).
    std::vector<Module::Export>::const_iterator find_export(std::string_view name) {
        const auto& exports = module_.export_list();
        for (const auto& [key, index] : recent_)
            if (key == name.data() && index < exports.size() && exports[index].name.size() == name.size())
                return exports.begin() + index;
        auto it = std::find_if(exports.begin(), exports.end(), [&](const Module::Export& e) { return e.name == name; });
        if (it != exports.end()) {
            recent_[next_recent_] = {name.data(), static_cast<size_t>(it - exports.begin())};
            next_recent_ = (next_recent_ + 1) % recent_.size();
        }
        return it;
    }

    const Module& module_;
    const AotTable& aot_;
    std::array<std::pair<const char*, size_t>, 8> recent_{};
    size_t next_recent_ = 0;
    void* instance_ = nullptr;
    std::vector<ImportFn> imports_;
    std::string pending_trap_;
    bool broken_ = false;
    wi::Values params_, results_;
    uint32_t import_depth_ = 0;
};

}  // namespace

std::unique_ptr<Guest> make_aot_guest(const Module& module) { return std::make_unique<AotGuest>(module); }

std::unique_ptr<Module> Module::from_aot(const AotTable& aot, const ImportResolver& resolver, std::string& error) {
    auto m = std::unique_ptr<Module>(new Module());
    m->aot_ = &aot;
    m->resolver_ = resolver;
    m->fuel_ = budget_from_env();
    for (uint32_t i = 0; i < aot.import_count; ++i)
        m->imports_.push_back({aot.imports[3 * i], aot.imports[3 * i + 1], parse_signature(aot.imports[3 * i + 2])});
    for (uint32_t i = 0; i < aot.export_count; ++i) {
        std::string_view sig = aot.exports[2 * i + 1];
        m->exports_.push_back({aot.exports[2 * i], sig == "m" ? wi::ExternKind::Memory : wi::ExternKind::Func, parse_signature(sig)});
    }
    if (!m->check(error)) return nullptr;
    *aot.import_handler = &AotGuest::on_import;
    return m;
}

}  // namespace ntx::wasm
