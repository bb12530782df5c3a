#include "new_res_dir.hpp"

#include <filesystem>
#include <fstream>

namespace ntx::cli {

namespace {

// Runs as written against `ntx-target` (its default ports are 20000-20999); -e BASE_URL=... points it
// elsewhere. Kept short: what a newcomer edits first, with a pointer to the rest.
constexpr const char* kScript = R"(# A starter script: each user logs in, reads its profile with the token it got, then fetches
# an asset. Run it against the bundled target server:
#   ntx-target --ports 20000 &
#   ntx run . --out out                     # or: ntx run . --users 50 --duration 30s
#   ntx run . -e BASE_URL=http://127.0.0.1:8080   # point it elsewhere
# docs/tutorial.md walks through it; docs/dsl.md has every key.

# The shipped http plugin needs no `components` block: `call: http.get` finds it.
actions:
  login:
    call: http.post
    with:
      url: "{{default(env.BASE_URL, 'http://127.0.0.1:20000')}}/login"
      headers: {content-type: application/json}
      body: '{"user": "user-{{env.user_id}}", "password": "secret"}'
    save-as: login                      # {{login.body}}, {{login.status}}, {{login.headers.<name>}}
  asset:
    call: http.get
    with:
      url: "{{default(env.BASE_URL, 'http://127.0.0.1:20000')}}/asset"

workflows:
  browse:
    steps:
      - ref: login
      - think: 100ms                    # a pause between actions, as a person would take
      - ref: asset

load:
  scenarios:
    - name: browse
      workflow: browse
      user-count: 10                    # closed model: 10 users (--users N overrides it)
      spawn-rate: 20/s                  # started 20 per second
      task-duration: 5s                 # each repeats its workflow for 5 s (--duration D overrides it)

thresholds:                             # decide the exit code: 0 when all hold, 1 otherwise
  - errors.rate < 1%
  - asset.p95 < 500ms
)";

constexpr const char* kConfig = R"(# Run-wide settings (docs/dsl.md#configyaml). All optional.
log:
  level: warn
)";

}  // namespace

bool new_res_dir(const std::string& name, std::FILE* out, std::FILE* err) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path dir(name);
    if (fs::exists(dir, ec) && !(fs::is_directory(dir, ec) && fs::is_empty(dir, ec))) {
        std::fprintf(err, "ntx: error: %s already exists and is not an empty folder: nothing written\n", name.c_str());
        return false;
    }
    fs::create_directories(dir, ec);
    if (ec) {
        std::fprintf(err, "ntx: error: cannot create %s: %s\n", name.c_str(), ec.message().c_str());
        return false;
    }
    for (const auto& [file, text] : {std::pair{"script.yaml", kScript}, std::pair{"config.yaml", kConfig}}) {
        std::ofstream f(dir / file);
        f << text;
        if (!f.flush()) {
            std::fprintf(err, "ntx: error: cannot write %s\n", (dir / file).c_str());
            return false;
        }
    }
    std::fprintf(out,
                 "wrote %s/script.yaml and %s/config.yaml\n"
                 "next: ntx-target --ports 20000 &   then   ntx run %s --out %s/out\n",
                 name.c_str(), name.c_str(), name.c_str(), name.c_str());
    return true;
}

}  // namespace ntx::cli
