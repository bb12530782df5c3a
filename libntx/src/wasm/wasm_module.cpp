#include "wasm/wasm_module.hpp"

#include "wasm/aot_guest.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include <wabt/binary-reader.h>
#include <wabt/interp/binary-reader-interp.h>

namespace ntx::wasm {

namespace {

// wabt's Thread keeps the pieces of a call (push the arguments, push the frame, pop the results)
// private and offers only an unbounded Run. An explicit instantiation may name private members, which
// is the standard's one sanctioned way to reach them; Run(n) (public) then gives the budget.
template <typename Tag, typename Tag::type M>
struct Reach {
    friend typename Tag::type get(Tag) { return M; }
};
struct PushValuesTag {
    using type = void (wi::Thread::*)(const wi::ValueTypes&, const wi::Values&);
    friend type get(PushValuesTag);
};
struct PopValuesTag {
    using type = void (wi::Thread::*)(const wi::ValueTypes&, wi::Values*);
    friend type get(PopValuesTag);
};
struct PushCallTag {
    using type = wi::RunResult (wi::Thread::*)(const wi::DefinedFunc&, wi::Trap::Ptr*);
    friend type get(PushCallTag);
};
template struct Reach<PushValuesTag, &wi::Thread::PushValues>;
template struct Reach<PopValuesTag, &wi::Thread::PopValues>;
template struct Reach<PushCallTag, &wi::Thread::PushCall>;

constexpr uint64_t kDefaultFuel = 50'000'000;  // instructions per call: ~0.1-0.5 s of interpretation
constexpr int kFuelChunk = 1 << 16;

}  // namespace

uint64_t budget_from_env() {
    if (const char* env = std::getenv("NTX_WASM_FUEL")) {
        char* end = nullptr;
        unsigned long long v = std::strtoull(env, &end, 10);
        if (end && *end == '\0' && v > 0) return v;
    }
    return kDefaultFuel;
}

namespace {

std::string hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

// Exports of the contract: name, signature, required.
struct ExportSpec {
    const char* name;
    std::vector<wi::ValueType> params, results;
    bool required;
};
const std::vector<ExportSpec>& contract_exports() {
    using T = wabt::Type;
    static const std::vector<ExportSpec> specs = {
        {"ntx_abi_version", {}, {T::I32}, true},
        {"ntx_describe", {}, {T::I32}, true},
        {"ntx_alloc", {T::I32}, {T::I32}, true},
        {"ntx_free", {T::I32}, {}, true},
        {"ntx_init", {T::I32}, {T::I32}, true},
        {"ntx_run_action", {T::I32, T::I32}, {T::I32}, true},
        {"ntx_on_error", {T::I32, T::I32, T::I32, T::I32, T::I32}, {}, true},
        {"ntx_release", {}, {}, true},
        {"ntx_user_release", {T::I64, T::I32}, {}, false},
        {"ntx_validate_action", {T::I32}, {T::I32}, false},
        {"ntx_on_socket", {T::I32, T::I32, T::I32}, {}, false},
        {"ntx_on_timer", {T::I32, T::I32, T::I64}, {}, false},
        {"_initialize", {}, {}, false},
    };
    return specs;
}

const wi::FuncType* func_type(const wi::ExternType* t) {
    return t && t->kind == wi::ExternKind::Func ? static_cast<const wi::FuncType*>(t) : nullptr;
}


}  // namespace

std::string signature(const wi::FuncType& type) {
    std::string s = "(func";
    if (!type.params.empty()) {
        s += " (param";
        for (auto t : type.params) s += " " + t.GetName();
        s += ")";
    }
    if (!type.results.empty()) {
        s += " (result";
        for (auto t : type.results) s += " " + t.GetName();
        s += ")";
    }
    return s + ")";
}

bool Module::exports(std::string_view name) const {
    return std::any_of(exports_.begin(), exports_.end(), [&](const Export& e) { return e.name == name; });
}

bool Module::check(std::string& error) const {
    // Every import must be one the host provides, with the host's signature: none starts unresolved.
    for (const auto& imp : imports_) {
        const std::string what = imp.module + "." + imp.name;
        if (!imp.type) {
            error = "imports " + what + ", which is not a function: the host provides functions only (the module "
                    "must define its own memory and table)";
            return false;
        }
        std::string mismatch;
        if (!resolver_.find(imp.module, imp.name, *imp.type, mismatch)) {
            error = mismatch.empty() ? "imports " + what + " " + signature(*imp.type) + ", which this host does not provide"
                                     : "imports " + what + " " + signature(*imp.type) + ", but the host provides " + mismatch;
            return false;
        }
    }
    // The contract's exports, with their signatures, and the memory.
    auto find = [&](std::string_view name) {
        return std::find_if(exports_.begin(), exports_.end(), [&](const Export& e) { return e.name == name; });
    };
    auto imported = [&](const char* name) {
        return std::any_of(imports_.begin(), imports_.end(), [&](const Import& i) { return i.module == "ntx" && i.name == name; });
    };
    auto memory = find("memory");
    if (memory == exports_.end() || memory->kind != wi::ExternKind::Memory) {
        error = "does not export its memory as 'memory'";
        return false;
    }
    for (const auto& spec : contract_exports()) {
        auto it = find(spec.name);
        bool needed = spec.required || (std::string_view(spec.name) == "ntx_on_socket" && imported("socket_open")) ||
                      (std::string_view(spec.name) == "ntx_on_timer" && imported("timer_schedule"));
        wi::FuncType want(spec.params, spec.results);
        if (it == exports_.end()) {
            if (needed) {
                error = "missing export '" + std::string(spec.name) + "' " + signature(want) +
                        " (see ntx/wasm_guest.h; define NTX_WASM_GUEST_IMPLEMENTATION in one file)";
                return false;
            }
            continue;
        }
        if (!it->type || it->type->params != spec.params || it->type->results != spec.results) {
            error = "export '" + std::string(spec.name) + "' is " + (it->type ? signature(*it->type) : "not a function") +
                    ", the contract's is " + signature(want);
            return false;
        }
    }
    return true;
}

std::unique_ptr<Module> Module::load(const std::string& path, const ImportResolver& resolver, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read the file";
        return nullptr;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    static const uint8_t magic[4] = {0x00, 'a', 's', 'm'};
    if (bytes.size() < 4 || !std::equal(magic, magic + 4, bytes.begin())) {
        error = bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F'
                    ? "not a WebAssembly module (an ELF file: a native plugin is named *.so)"
                    : "not a WebAssembly module (the file does not start with the \\0asm magic)";
        return nullptr;
    }
    if (bytes.size() < 8) {
        error = "truncated WebAssembly module: " + std::to_string(bytes.size()) + " bytes, the header alone is 8";
        return nullptr;
    }
    if (bytes[4] == 0x0d && bytes[5] == 0x00 && bytes[6] == 0x01 && bytes[7] == 0x00) {
        error = "a WebAssembly component (component model, wasip2), not a core module: ntx loads core modules; "
                "build with --target=wasm32-wasi (preview1) and -mexec-model=reactor against ntx/wasm_guest.h "
                "(see docs/plugins-wasm.md)";
        return nullptr;
    }
    if (bytes[4] != 0x01 || bytes[5] != 0 || bytes[6] != 0 || bytes[7] != 0) {
        error = "unsupported WebAssembly binary version " + std::to_string(bytes[4] | bytes[5] << 8) + " (expected 1)";
        return nullptr;
    }

    auto m = std::unique_ptr<Module>(new Module());
    m->path_ = path;
    m->resolver_ = resolver;
    m->fuel_ = budget_from_env();
    wabt::Errors errors;
    wabt::Features features;  // the defaults: what clang 14 emits (mutable globals, sign-ext, bulk memory...)
    wabt::ReadBinaryOptions options(features, nullptr, false, true, false);
    if (wabt::Failed(wi::ReadBinaryInterp(path, bytes.data(), bytes.size(), options, &errors, &m->desc_))) {
        if (errors.empty()) {
            error = "invalid WebAssembly module";
        } else {
            const wabt::Error& e = errors.front();
            error = "invalid WebAssembly module at offset " + hex(e.loc.offset) + ": " + e.message;
        }
        return nullptr;
    }

    for (const auto& imp : m->desc_.imports) {
        const auto* type = func_type(imp.type.type.get());
        m->imports_.push_back({imp.type.module, imp.type.name, type ? std::optional<wi::FuncType>(*type) : std::nullopt});
    }
    for (const auto& exp : m->desc_.exports) {
        const auto* type = func_type(exp.type.type.get());
        m->exports_.push_back({exp.type.name, exp.type.type->kind, type ? std::optional<wi::FuncType>(*type) : std::nullopt});
    }
    if (!m->check(error)) return nullptr;
    return m;
}

// The interpreter's instance: a store of its own, one thread reused call after call.
class InterpGuest final : public Guest {
public:
    explicit InterpGuest(const Module& module) : module_(module) {}
    ~InterpGuest() override {
        // The store owns every object; dropping the references first lets it free them in order.
        exports_.clear();
        memory_.reset();
        instance_.reset();
        thread_.reset();
    }
    bool start(std::string& error) override;
    Call call(std::string_view name, Args args) override;
    bool has(std::string_view name) const override;
    uint8_t* span(uint64_t ptr, uint64_t len) override;
    uint64_t memory_size() override { return memory_ ? memory_->ByteSize() : 0; }

private:
    const Module& module_;
    wi::Store store_;
    std::unique_ptr<wi::Thread> thread_;
    wi::Instance::Ptr instance_;
    wi::Memory::Ptr memory_;
    std::vector<std::pair<std::string, wi::Func::Ptr>> exports_;
    // Reused by every call (a nested call, from a host function, consumes args_ before it runs and
    // fills results_ after, so nesting cannot mix them): no allocation once they have grown.
    wi::Values args_, results_;
};

std::unique_ptr<Guest> Module::instantiate() const {
    if (aot_) return make_aot_guest(*this);
    return std::make_unique<InterpGuest>(*this);
}

bool InterpGuest::start(std::string& error) {
    wi::Module::Ptr mod = wi::Module::New(store_, wi::ModuleDesc(module_.desc()));
    wi::RefVec imports;
    for (const auto& imp : mod->import_types()) {
        const auto* type = func_type(imp.type.get());
        std::string mismatch;
        ImportFn fn = type ? module_.resolver().find(imp.module, imp.name, *type, mismatch) : ImportFn{};
        if (!fn) {  // checked at load; kept so that an instance can never start unresolved
            error = "unresolved import " + imp.module + "." + imp.name;
            return false;
        }
        auto host = wi::HostFunc::New(store_, *type,
                                      [this, fn](wi::Thread&, const wi::Values& params, wi::Values& results,
                                                 wi::Trap::Ptr* out_trap) -> wabt::Result {
                                          std::string trap;
                                          wabt::Result r = fn(*this, params, results, trap);
                                          if (wabt::Failed(r)) *out_trap = wi::Trap::New(store_, trap);
                                          return r;
                                      });
        imports.push_back(host.ref());
    }
    wi::Trap::Ptr trap;
    instance_ = wi::Instance::Instantiate(store_, mod.ref(), imports, &trap);
    if (!instance_) {
        error = "instantiation failed: " + (trap ? trap->message() : std::string("unknown reason"));
        return false;
    }
    const auto& types = mod->export_types();
    const auto& refs = instance_->exports();
    for (size_t i = 0; i < types.size() && i < refs.size(); ++i) {
        if (types[i].type->kind == wi::ExternKind::Func)
            exports_.emplace_back(types[i].name, store_.UnsafeGet<wi::Func>(refs[i]));
        else if (types[i].type->kind == wi::ExternKind::Memory && types[i].name == "memory")
            memory_ = store_.UnsafeGet<wi::Memory>(refs[i]);
    }
    thread_ = std::make_unique<wi::Thread>(store_);
    if (has("_initialize")) {
        Call c = call("_initialize", {});
        if (!c.ok()) {
            error = "_initialize failed: " + c.message;
            return false;
        }
    }
    return true;
}

bool InterpGuest::has(std::string_view name) const {
    return std::any_of(exports_.begin(), exports_.end(), [&](const auto& e) { return e.first == name; });
}

Guest::Call InterpGuest::call(std::string_view name, Args args) {
    Call out;
    args_.assign(args.begin(), args.end());
    results_.clear();
    auto it = std::find_if(exports_.begin(), exports_.end(), [&](const auto& e) { return e.first == name; });
    if (it == exports_.end() || !thread_) {
        out.outcome = Outcome::trap;
        out.message = !thread_ ? "the instance is unusable after an earlier trap" : "no export '" + std::string(name) + "'";
        return out;
    }
    wi::Func::Ptr func = it->second;
    const auto& type = static_cast<const wi::FuncType&>(func->extern_type());
    wi::Trap::Ptr trap;
    if (!store_.Is<wi::DefinedFunc>(func.ref())) {  // a re-exported host function: it cannot loop
        if (wabt::Failed(func->Call(*thread_, args_, results_, &trap))) {
            out.outcome = Outcome::trap;
            out.message = trap ? trap->message() : "trap";
            return out;
        }
        for (const auto& v : results_) out.results.push_back(v);
        return out;
    }
    wi::Thread& t = *thread_;
    (t.*get(PushValuesTag{}))(type.params, args_);
    wi::RunResult r = (t.*get(PushCallTag{}))(*store_.UnsafeGet<wi::DefinedFunc>(func.ref()), &trap);
    uint64_t left = module_.fuel();
    while (r == wi::RunResult::Ok) {
        if (left == 0) {
            // The call is abandoned mid-way: the thread and the instance are not reusable (the caller
            // drops this Guest).
            out.outcome = Outcome::fuel;
            out.message = "ran past its budget of " + std::to_string(module_.fuel()) + " instructions";
            thread_.reset();
            return out;
        }
        int chunk = static_cast<int>(std::min<uint64_t>(left, kFuelChunk));
        r = t.Run(chunk, &trap);
        left -= static_cast<uint64_t>(chunk);
    }
    if (r == wi::RunResult::Return) {
        (t.*get(PopValuesTag{}))(type.results, &results_);
        for (const auto& v : results_) out.results.push_back(v);
        return out;
    }
    out.outcome = Outcome::trap;
    out.message = r == wi::RunResult::Exception ? "uncaught exception" : trap ? trap->message() : "trap";
    thread_.reset();
    return out;
}

uint8_t* InterpGuest::span(uint64_t ptr, uint64_t len) {
    if (!memory_) return nullptr;
    uint64_t size = memory_->ByteSize();
    if (ptr > size || len > size - ptr) return nullptr;
    return memory_->UnsafeData() + ptr;
}

std::optional<std::string_view> Guest::str(uint32_t ptr, uint32_t len) {
    if (len == 0) return std::string_view();
    uint8_t* p = span(ptr, len);
    if (!p) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(p), len);
}

std::optional<std::string> Guest::c_str(uint32_t ptr, size_t max) {
    const uint64_t size = memory_size();
    if (ptr >= size) return std::nullopt;
    uint64_t avail = std::min<uint64_t>(size - ptr, max);
    const char* p = reinterpret_cast<const char*>(span(ptr, avail));
    if (!p) return std::nullopt;
    const void* nul = std::memchr(p, 0, avail);
    if (!nul) return std::nullopt;
    return std::string(p, static_cast<const char*>(nul));
}

uint32_t Guest::alloc(uint32_t size, Call& trap) {
    Call c = call("ntx_alloc", {wi::Value::Make(size)});
    if (!c.ok()) {
        trap = std::move(c);
        return 0;
    }
    uint32_t p = c.results.at(0).Get<uint32_t>();
    if (p == 0 || !span(p, size)) {
        trap.outcome = Outcome::trap;
        trap.message = p == 0 ? "ntx_alloc(" + std::to_string(size) + ") returned NULL"
                              : "ntx_alloc returned " + hex(p) + ", outside the module's memory";
        return 0;
    }
    return p;
}

void Guest::free(uint32_t ptr) {
    if (ptr) call("ntx_free", {wi::Value::Make(ptr)});
}

uint32_t Guest::borrow(uint32_t size, Call& trap) {
    if (size > kScratch) return alloc(size, trap);
    if (!scratch_) scratch_ = alloc(kScratch, trap);
    return scratch_;
}

void Guest::give_back(uint32_t ptr) {
    if (ptr != scratch_) free(ptr);
}

}  // namespace ntx::wasm
