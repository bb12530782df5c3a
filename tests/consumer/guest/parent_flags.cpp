// Compiled with the parent project's settings alone: ntx, added with add_subdirectory, must not change them.
#if __cplusplus != 201703L
#error "the parent's C++17 became another standard"
#endif
#ifndef PARENT_CXX_FLAG
#error "the parent's CMAKE_CXX_FLAGS were lost"
#endif
#ifndef PARENT_DIRECTORY_OPTION
#error "the parent's add_compile_options were lost"
#endif
#ifdef NDEBUG
#error "the parent's Debug build type was changed"
#endif

int parent_answer() { return 42; }
