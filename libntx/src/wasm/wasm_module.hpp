// A wasm plugin's module, checked once at load (header, validation, imports against what the host
// provides, the exports of the contract), and Guest: one wabt-interpreter instance of it with a bounded
// call (an instruction budget per call) and checked access to its linear memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
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

class Module {
public:
    // Reads, validates and checks `path`; nullptr and `error` (one line) when refused.
    static std::unique_ptr<Module> load(const std::string& path, const ImportResolver& resolver, std::string& error);

    const std::string& path() const { return path_; }
    const wi::ModuleDesc& desc() const { return desc_; }
    const ImportResolver& resolver() const { return resolver_; }
    bool exports(std::string_view name) const;
    uint64_t fuel() const { return fuel_; }

    Declared declared;

private:
    std::string path_;
    wi::ModuleDesc desc_;
    ImportResolver resolver_;
    uint64_t fuel_ = 0;
};

// Signature text as the wat format writes it: "(func (param i32 i32) (result i32))".
std::string signature(const wi::FuncType& type);

class Guest {
public:
    enum class Outcome { ok, trap, fuel };
    struct Call {
        Outcome outcome = Outcome::ok;
        std::string message;  // the trap's message
        wi::Values results;
        bool ok() const { return outcome == Outcome::ok; }
    };

    explicit Guest(const Module& module);
    ~Guest();
    Guest(const Guest&) = delete;
    Guest& operator=(const Guest&) = delete;

    // Instantiates (imports bound through the module's resolver) and runs _initialize when exported.
    bool start(std::string& error);

    // Calls an export with the module's budget; a missing export is a trap with that message.
    Call call(std::string_view name, const wi::Values& args);
    bool has(std::string_view name) const;

    // Linear memory, checked: nullptr / false when [ptr, ptr+len) is outside it.
    uint8_t* span(uint64_t ptr, uint64_t len);
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

    void* user = nullptr;  // the binding the host functions serve (see host_imports.hpp)

private:
    const Module& module_;
    wi::Store store_;
    std::unique_ptr<wi::Thread> thread_;
    wi::Instance::Ptr instance_;
    wi::Memory::Ptr memory_;
    std::vector<std::pair<std::string, wi::Func::Ptr>> exports_;
};

}  // namespace ntx::wasm
