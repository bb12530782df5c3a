// A wasm plugin's module, checked once at load (header, validation, imports against what the host
// provides, the exports of the contract), and Guest: one wabt-interpreter instance of it with a bounded
// call (an instruction budget per call) and checked access to its linear memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <array>
#include <functional>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <wabt/interp/interp.h>

namespace ntx::wasm {

namespace wi = wabt::interp;

// The host function behind one import: the Guest it runs in is passed along, to reach its memory.
class Guest;
using ImportFn = std::function<wabt::Result(Guest&, const wi::Values& params, wi::Values& results, std::string& trap)>;

// What the host provides: `find` returns the implementation of module.name, or an empty function
// when the host lacks it; `expected` the signature it provides, for the error message.
struct ImportResolver {
    std::function<ImportFn(const std::string& module, const std::string& name, const wi::FuncType& type,
                           std::string& mismatch)> find;
};

struct Declared {  // what ntx_describe returned, copied out of the probe instance
    uint32_t abi_major = 0, abi_minor = 0;
    std::string name, version;
    std::vector<std::string> capabilities;
};

struct AotTable;  // a wasm2c-compiled module's glue (aot_guest.hpp)

class Module {
public:
    // Reads, validates and checks `path`; nullptr and `error` (one line) when refused.
    static std::unique_ptr<Module> load(const std::string& path, const ImportResolver& resolver, std::string& error);
    // A module compiled ahead of time (ntx wasm compile): the same checks on the imports and exports
    // its glue lists. `aot` must outlive the module.
    static std::unique_ptr<Module> from_aot(const AotTable& aot, const ImportResolver& resolver, std::string& error);

    const std::string& path() const { return path_; }
    const wi::ModuleDesc& desc() const { return desc_; }
    const ImportResolver& resolver() const { return resolver_; }
    bool exports(std::string_view name) const;
    uint64_t fuel() const { return fuel_; }
    // A new, not yet started instance.
    std::unique_ptr<Guest> instantiate() const;

    Declared declared;

    struct Import {
        std::string module, name;
        std::optional<wi::FuncType> type;  // empty: not a function
    };
    struct Export {
        std::string name;
        wi::ExternKind kind;
        std::optional<wi::FuncType> type;
    };
    const std::vector<Import>& imports() const { return imports_; }
    const std::vector<Export>& export_list() const { return exports_; }
    const AotTable* aot() const { return aot_; }

private:
    // The contract's checks on imports_ and exports_ (the host provides every import, with its
    // signature; the required exports are there, with theirs).
    bool check(std::string& error) const;

    std::string path_;
    wi::ModuleDesc desc_;
    std::vector<Import> imports_;
    std::vector<Export> exports_;
    const AotTable* aot_ = nullptr;
    ImportResolver resolver_;
    uint64_t fuel_ = 0;
};

class Guest;

// The instruction budget per call (interpreter) or calls and loop iterations (compiled): 50,000,000,
// or $NTX_WASM_FUEL.
uint64_t budget_from_env();

// Signature text as the wat format writes it: "(func (param i32 i32) (result i32))".
std::string signature(const wi::FuncType& type);

// One instance of a module: the interpreter's (Module::load), or a wasm2c-compiled plugin's (aot_guest).
class Guest {
public:
    enum class Outcome { ok, trap, fuel };
    // A call's results, held in place: the contract's exports return one value or none, so a call
    // allocates nothing for them (wi::Values is a std::vector).
    class Results {
    public:
        static constexpr size_t kMax = 2;
        const wi::Value& at(size_t i) const {
            if (i >= n_) throw std::out_of_range("wasm call: no result " + std::to_string(i));
            return v_[i];
        }
        size_t size() const { return n_; }
        bool empty() const { return n_ == 0; }
        void push_back(const wi::Value& v) {
            if (n_ == kMax) throw std::length_error("wasm call: more than two results");
            v_[n_++] = v;
        }

    private:
        std::array<wi::Value, kMax> v_{};
        size_t n_ = 0;
    };
    struct Call {
        Outcome outcome = Outcome::ok;
        std::string message;  // the trap's message
        Results results;
        bool ok() const { return outcome == Outcome::ok; }
    };
    using Args = std::initializer_list<wi::Value>;

    virtual ~Guest() = default;

    // Instantiates (imports bound through the module's resolver) and runs _initialize when exported.
    virtual bool start(std::string& error) = 0;
    // Calls an export with the module's budget; a missing export is a trap with that message. After a
    // trap or an exhausted budget the instance is unusable: every later call says so.
    // Neither the arguments nor the results allocate.
    virtual Call call(std::string_view name, Args args) = 0;
    virtual bool has(std::string_view name) const = 0;
    // Linear memory, checked: nullptr when [ptr, ptr+len) is outside it.
    virtual uint8_t* span(uint64_t ptr, uint64_t len) = 0;
    virtual uint64_t memory_size() = 0;

    std::optional<std::string_view> str(uint32_t ptr, uint32_t len);
    std::optional<std::string> c_str(uint32_t ptr, size_t max = 4096);  // NUL-terminated
    template <typename T>
    bool load(uint32_t ptr, T& out) {
        uint8_t* p = span(ptr, sizeof(T));
        if (p) std::memcpy(&out, p, sizeof(T));
        return p != nullptr;
    }
    template <typename T>
    bool store(uint32_t ptr, T value) {
        uint8_t* p = span(ptr, sizeof(T));
        if (p) std::memcpy(p, &value, sizeof(T));
        return p != nullptr;
    }

    // Guest allocation through ntx_alloc / ntx_free; 0 with `trap` set when it failed or trapped.
    uint32_t alloc(uint32_t size, Call& trap);
    void free(uint32_t ptr);
    // Room for a block the host places for one call (an action's ctx, an event): a scratch area
    // allocated once per instance, reused call after call (the host never places a block while another
    // is in use: it never calls into a guest from inside a call of it), or a fresh allocation when the
    // block is larger. give_back frees only the latter.
    uint32_t borrow(uint32_t size, Call& trap);
    void give_back(uint32_t ptr);

    void* user = nullptr;  // the binding the host functions serve (see loop_instance.hpp)

private:
    static constexpr uint32_t kScratch = 4096;
    uint32_t scratch_ = 0;
};

}  // namespace ntx::wasm
