// The parent's program, linked with the guest's libntx.a: the public API works from it.
#include <cstdio>
#include <ntx/ntx.hpp>

int parent_answer();

int main() {
    if (!ntx::is_semver("1.2.3") || ntx::is_semver("1.2") || parent_answer() != 42) return 1;
    ntx::Host host;  // a host with nothing to run: constructing and destroying it is enough here
    std::printf("guest: ntx %s linked into the parent\n", NTX_VERSION_STRING);
    return 0;
}
