// Built by a plain Makefile with pkg-config's flags: validates the bundled example (the shipped http plugin
// is found next to the installed libntx) and prints where plugins are looked for.
#include <cstdio>
#include <ntx/ntx.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: pc_app EXAMPLE_DIR\n");
        return 2;
    }
    ntx::Host host;
    try {
        host.validate(argv[1]);
    } catch (const ntx::InvalidInput& e) {
        std::fprintf(stderr, "example did not validate:\n%s\n", e.what());
        return 1;
    }
    std::printf("pkg-config consumer: ntx %s validated %s\n", NTX_VERSION_STRING, argv[1]);
    return 0;
}
