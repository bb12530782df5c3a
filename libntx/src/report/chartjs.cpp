// Chart.js (Debian's libjs-chart.js, MIT licence; its banner comment is kept in the page) as bytes of
// the library, for report.html to inline. .incbin copies the file at build time: nothing is read at
// run time, and no 200 KB string literal goes through the compiler.
#include "report/chartjs.hpp"

__asm__(".pushsection .rodata\n"
        ".balign 16\n"
        ".globl ntx_chartjs_begin\n.hidden ntx_chartjs_begin\n"
        ".globl ntx_chartjs_end\n.hidden ntx_chartjs_end\n"
        "ntx_chartjs_begin:\n"
        ".incbin \"" NTX_CHARTJS_FILE "\"\n"
        "ntx_chartjs_end:\n"
        ".popsection\n");

extern "C" {
__attribute__((visibility("hidden"))) extern const char ntx_chartjs_begin[];
__attribute__((visibility("hidden"))) extern const char ntx_chartjs_end[];
}

namespace ntx::report {

std::string_view chartjs() { return {ntx_chartjs_begin, static_cast<size_t>(ntx_chartjs_end - ntx_chartjs_begin)}; }

}  // namespace ntx::report
