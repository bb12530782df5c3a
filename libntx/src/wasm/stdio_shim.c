/* libwabt.a (Debian) is built PIE, not PIC: its references to stdin/stdout/stderr are PC-relative
 * (R_X86_64_PC32), which a shared object cannot resolve against glibc's copies. Hidden definitions
 * here, pointing at glibc's own FILE objects, satisfy them inside libntx_wasm.so. */
#include <stdio.h>

extern FILE _IO_2_1_stdin_, _IO_2_1_stdout_, _IO_2_1_stderr_;

#undef stdin
#undef stdout
#undef stderr
__attribute__((visibility("hidden"))) FILE *stdin = &_IO_2_1_stdin_;
__attribute__((visibility("hidden"))) FILE *stdout = &_IO_2_1_stdout_;
__attribute__((visibility("hidden"))) FILE *stderr = &_IO_2_1_stderr_;
