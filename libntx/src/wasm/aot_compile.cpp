// ntx wasm compile: a checked .wasm module -> wasm2c -> C with explicit bounds checks -> the system
// compiler -> an ordinary native plugin (.so) whose ntx_plugin_entry hands its glue to this loader.
// The glue is generated here from wasm2c's header; its slot order is aot_guest.hpp's AotSlot.
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "wasm/aot_guest.hpp"
#include "wasm/wasm_module.hpp"

namespace ntx::wasm {

bool check_module(const std::string& path, std::string& error);  // wasm_plugin.cpp
bool add_fuel(const std::string& in, const std::string& out, std::string& error);  // aot_fuel.cpp

namespace {
namespace fs = std::filesystem;

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

bool read(const fs::path& p, std::string& out) {
    std::ifstream in(p, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

bool write(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
    return static_cast<bool>(out);
}

// Runs a shell command, its output into `log`; false with the log's tail in `error`.
bool run(const std::string& command, const fs::path& log, const char* what, std::string& error) {
    if (std::system((command + " >" + quote(log.string()) + " 2>&1").c_str()) == 0) return true;
    std::string text;
    read(log, text);
    if (text.size() > 1500) text = "..." + text.substr(text.size() - 1500);
    error = std::string(what) + " failed: " + text;
    return false;
}

// The runtime's globals that trap handling and the call-depth count use become per thread: the
// plugin's instances run on several loops at once.
bool patch(std::string& text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) return false;
    text.replace(at, from.size(), to);
    return true;
}

bool copy_runtime(const fs::path& dir, std::string& error) {
    const char* env = std::getenv("NTX_WASM2C_RUNTIME");
    fs::path rt = env ? fs::path(env) : fs::path("/usr/share/wabt/wasm2c");
    fs::path header = fs::exists(rt / "wasm-rt.h") ? rt / "wasm-rt.h" : fs::path("/usr/include/wasm-rt.h");
    std::string h, ih, c;
    if (!read(header, h) || !read(rt / "wasm-rt-impl.h", ih) || !read(rt / "wasm-rt-impl.c", c)) {
        error = "wasm2c's runtime sources are not in " + rt.string() + " (Debian's wabt package; NTX_WASM2C_RUNTIME)";
        return false;
    }
    bool ok = patch(h, "extern uint32_t wasm_rt_call_stack_depth;", "extern _Thread_local uint32_t wasm_rt_call_stack_depth;") &&
              patch(ih, "extern jmp_buf wasm_rt_jmp_buf;", "extern _Thread_local jmp_buf wasm_rt_jmp_buf;") &&
              patch(ih, "extern uint32_t wasm_rt_saved_call_stack_depth;",
                    "extern _Thread_local uint32_t wasm_rt_saved_call_stack_depth;") &&
              patch(c, "\nuint32_t wasm_rt_call_stack_depth;", "\n_Thread_local uint32_t wasm_rt_call_stack_depth;") &&
              patch(c, "\nuint32_t wasm_rt_saved_call_stack_depth;", "\n_Thread_local uint32_t wasm_rt_saved_call_stack_depth;") &&
              patch(c, "\njmp_buf wasm_rt_jmp_buf;", "\n_Thread_local jmp_buf wasm_rt_jmp_buf;") &&
              patch(c, "static jmp_buf* g_unwind_target;", "static _Thread_local jmp_buf* g_unwind_target;");
    if (!ok) {
        error = "wasm2c's runtime (" + rt.string() + ") is not the version this ntx knows (wabt 1.0.32)";
        return false;
    }
    return write(dir / "wasm-rt.h", h) && write(dir / "wasm-rt-impl.h", ih) && write(dir / "wasm-rt-impl.c", c);
}

std::vector<std::string> split_types(const std::string& list) {  // ", u32, u64" -> {u32, u64}
    std::vector<std::string> out;
    std::regex item(R"(,\s*(\w+))");
    for (std::sregex_iterator it(list.begin(), list.end(), item), end; it != end; ++it) out.push_back((*it)[1]);
    return out;
}

char letter(const std::string& c_type) { return c_type == "u32" ? 'i' : c_type == "u64" ? 'I' : '?'; }

std::string c_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// The glue: every import forwards to the loader's handler, every callable export gets a case.
bool generate_glue(const std::string& header, const std::string& loader, const std::string& self, std::string& glue,
                   std::string& error) {
    std::regex import_re(R"(/\* import: '([^']*)' '([^']*)' \*/\n(\w+) (\w+)\(struct (\w+)\*([^)]*)\);)");
    std::regex export_re(R"(/\* export: '([^']*)' \*/\n([\w\*]+) (\w+)\(Z_guest_instance_t\*(?: instance)?([^)]*)\);)");
    std::regex inst_re(R"(void Z_guest_instantiate\(Z_guest_instance_t\*([^)]*)\);)");
    std::smatch inst;
    if (!std::regex_search(header, inst, inst_re)) {
        error = "unexpected wasm2c output (no Z_guest_instantiate)";
        return false;
    }
    std::ostringstream g, imports, exports, cases;
    size_t import_count = 0, export_count = 0;
    bool has_fuel = false;
    g << "/* Generated by ntx wasm compile: the glue between wasm2c's code and libntx_wasm.so. */\n"
         "#include <dlfcn.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdlib.h>\n"
         "#include \"guest.h\"\n#include \"wasm-rt-impl.h\"\n\n"
         "typedef int (*ntx_aot_import_fn)(void *, uint32_t, const uint64_t *, uint64_t *);\n"
         "static ntx_aot_import_fn g_import;\n\n";
    for (std::sregex_iterator it(header.begin(), header.end(), import_re), end; it != end; ++it, ++import_count) {
        const auto& m = *it;
        std::vector<std::string> params = split_types(m[6]);
        std::string sig;
        for (auto& p : params) sig += letter(p);
        sig += '>';
        if (m[3] != "void") sig += letter(m[3]);
        imports << "  " << c_string(m[1]) << ", " << c_string(m[2]) << ", \"" << sig << "\",\n";
        g << m[3] << " " << m[4] << "(struct " << m[5] << " *ctx";
        for (size_t i = 0; i < params.size(); ++i) g << ", " << params[i] << " a" << i;
        g << ") {\n  uint64_t args[" << (params.empty() ? 1 : params.size()) << "] = {";
        for (size_t i = 0; i < params.size(); ++i) g << (i ? ", " : "") << "(uint64_t)a" << i;
        if (params.empty()) g << "0";
        g << "};\n  uint64_t r = 0;\n  if (g_import(ctx, " << import_count << ", args, &r)) wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);\n"
          << (m[3] == "void" ? "  (void)r;\n" : "  return (" + std::string(m[3]) + ")r;\n") << "}\n\n";
    }
    for (std::sregex_iterator it(header.begin(), header.end(), export_re), end; it != end; ++it, ++export_count) {
        const auto& m = *it;
        std::string ret = m[2];
        std::vector<std::string> params = split_types(m[4]);
        std::string sig;
        bool callable = ret == "void" || ret == "u32" || ret == "u64";
        for (auto& p : params) {
            sig += letter(p);
            callable = callable && letter(p) != '?';
        }
        sig = ret == "wasm_rt_memory_t*" && m[1] == "memory" ? "m" : !callable ? "?" : sig + ">" + (ret == "void" ? "" : std::string(1, letter(ret)));
        exports << "  " << c_string(m[1]) << ", \"" << sig << "\",\n";
        if (m[1] == "ntx_fuel" && ret == "u64*") {
            g << "static uint64_t *fuel_of(void *inst) { return " << m[3] << "((Z_guest_instance_t *)inst); }\n\n";
            has_fuel = true;
        } else if (sig == "m") {
            g << "static wasm_rt_memory_t *memory_of(void *inst) { return " << m[3] << "((Z_guest_instance_t *)inst); }\n\n";
        } else if (callable) {
            cases << "  case " << export_count << ": " << (ret == "void" ? "" : "*result = (uint64_t)") << m[3]
                  << "((Z_guest_instance_t *)inst";
            for (size_t i = 0; i < params.size(); ++i) cases << ", (" << params[i] << ")args[" << i << "]";
            cases << "); break;\n";
        }
    }
    if (header.find("* Z_guestZ_memory(") == std::string::npos) {
        error = "the module does not export its memory as 'memory'";
        return false;
    }
    size_t contexts = split_types(inst[1]).size();
    g << "static int call_export(void *inst, uint32_t index, const uint64_t *args, uint64_t *result) {\n"
         "  wasm_rt_trap_t code = wasm_rt_impl_try();\n  if (code != 0) return (int)code;\n  (void)args;\n  (void)result;\n"
         "  switch (index) {\n" << cases.str() << "  default: return (int)WASM_RT_TRAP_UNREACHABLE;\n  }\n  return 0;\n}\n\n"
         "static int new_instance(void *ctx, void **out) {\n"
         "  Z_guest_instance_t *inst = (Z_guest_instance_t *)calloc(1, sizeof *inst);\n  wasm_rt_trap_t code;\n"
         "  if (!inst) return -1;\n  code = wasm_rt_impl_try();\n  if (code != 0) return (int)code;\n"
         "  Z_guest_instantiate(inst";
    std::smatch ctx_types;
    std::string list = inst[1];
    std::regex ctx_re(R"(struct (\w+)\*)");
    for (std::sregex_iterator it(list.begin(), list.end(), ctx_re), end; it != end; ++it)
        g << ", (struct " << (*it)[1] << " *)ctx";
    (void)contexts;
    g << ");\n  *out = inst;\n  return 0;\n}\n\n"
         "static void free_instance(void *inst) {\n  Z_guest_free((Z_guest_instance_t *)inst);\n  free(inst);\n}\n\n"
         "static void memory(void *inst, uint8_t **base, uint64_t *size) {\n"
         "  wasm_rt_memory_t *m = memory_of(inst);\n  *base = m->data;\n  *size = m->size;\n}\n\n"
         "static const char *const imports[] = {\n" << imports.str() << "  NULL};\n"
         "static const uint32_t import_count = " << import_count << ";\n"
         "static const char *const exports[] = {\n" << exports.str() << "  NULL};\n"
         "static const uint32_t export_count = " << export_count << ";\n\n"
         "typedef int32_t (*ntx_open_aot_fn)(void *const *, size_t, const char *, const void *, void *);\n\n"
         "/* The host's loader reports this backend for the .so. */\n"
         "__attribute__((visibility(\"default\"))) const char ntx_wasm_backend[] = \"wasm2c\";\n\n"
         "__attribute__((visibility(\"default\"))) int32_t ntx_plugin_entry(const void *host_api, void *plugin_api) {\n"
         "  static int initialized;\n  void *slots[" << kAotSlotCount << "];\n  void *loader;\n  ntx_open_aot_fn open;\n"
         "  if (!initialized) {\n    wasm_rt_init();\n    Z_guest_init_module();\n    initialized = 1;\n  }\n"
         "  loader = dlopen(" << c_string(loader) << ", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);\n"
         "  if (!loader) loader = dlopen(\"libntx_wasm.so\", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);\n"
         "  open = loader ? (ntx_open_aot_fn)dlsym(loader, \"ntx_wasm_loader_open_aot\") : NULL;\n"
         "  if (!open) return -3; /* NTX_E_UNSUPPORTED: no wasm loader */\n"
         "  slots[" << kAotImportHandler << "] = (void *)&g_import;\n"
         "  slots[" << kAotNewInstance << "] = (void *)new_instance;\n"
         "  slots[" << kAotFreeInstance << "] = (void *)free_instance;\n"
         "  slots[" << kAotMemory << "] = (void *)memory;\n"
         "  slots[" << kAotCallExport << "] = (void *)call_export;\n"
         "  slots[" << kAotImports << "] = (void *)imports;\n"
         "  slots[" << kAotImportCount << "] = (void *)&import_count;\n"
         "  slots[" << kAotExports << "] = (void *)exports;\n"
         "  slots[" << kAotExportCount << "] = (void *)&export_count;\n"
         "  slots[" << kAotFuel << "] = " << (has_fuel ? "(void *)fuel_of" : "NULL") << ";\n"
         "  return open(slots, " << kAotSlotCount << ", " << c_string(self) << ", host_api, plugin_api);\n}\n";
    glue = g.str();
    return true;
}

fs::path this_library() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&this_library), &info) && info.dli_fname) return fs::absolute(info.dli_fname);
    return "libntx_wasm.so";
}

bool compile(const std::string& in, const std::string& out, std::string& error) {
    if (!check_module(in, error)) return false;
    char templ[] = "/tmp/ntx-wasm-XXXXXX";
    if (!mkdtemp(templ)) {
        error = "cannot create a temporary directory";
        return false;
    }
    fs::path dir = templ;
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ec;
            if (!std::getenv("NTX_WASM_KEEP")) fs::remove_all(dir, ec);
        }
    } cleanup{dir};
    const std::string fueled = (dir / "fueled.wasm").string();
    if (!add_fuel(in, fueled, error)) return false;
    const char* wasm2c = std::getenv("NTX_WASM2C");
    if (!run(quote(wasm2c ? wasm2c : "wasm2c") + " " + quote(fueled) + " -n guest -o " + quote((dir / "guest.c").string()),
             dir / "wasm2c.log", "wasm2c", error))
        return false;
    std::string header, glue;
    if (!read(dir / "guest.h", header) || !copy_runtime(dir, error)) return error.empty() ? (error = "wasm2c wrote no header", false) : false;
    if (!generate_glue(header, this_library().string(), fs::path(out).filename().string(), glue, error)) return false;
    if (!write(dir / "glue.c", glue)) {
        error = "cannot write the glue";
        return false;
    }
    const char* cc = std::getenv("CC");
    // Explicit bounds checks: the guard-page build pays a signal-mask change on every call.
    std::string command = quote(cc ? cc : "cc") + " -shared -fPIC -O2 -fvisibility=hidden -DWASM_RT_MEMCHECK_SIGNAL_HANDLER=0 -I" +
                          quote(dir.string()) + " -o " + quote(out) + " " + quote((dir / "guest.c").string()) + " " +
                          quote((dir / "glue.c").string()) + " " + quote((dir / "wasm-rt-impl.c").string()) + " -ldl -lm";
    return run(command, dir / "cc.log", "the C compiler", error);
}

}  // namespace
}  // namespace ntx::wasm

// `ntx wasm compile IN -o OUT`: 0, or -1 with one line in `error`.
extern "C" __attribute__((visibility("default"))) int ntx_wasm_compile(const char* in, const char* out, char* error,
                                                                        size_t error_len) {
    std::string why;
    bool ok = false;
    try {
        ok = in && out && ntx::wasm::compile(in, out, why);
    } catch (const std::exception& e) {
        why = e.what();
    }
    if (!ok && error && error_len) std::snprintf(error, error_len, "'%s': %s", in ? in : "", why.c_str());
    return ok ? 0 : -1;
}
