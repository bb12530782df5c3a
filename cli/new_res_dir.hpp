// `ntx new NAME`: a starter res_dir, a short runnable script against ntx-target with comments.
#pragma once

#include <cstdio>
#include <string>

namespace ntx::cli {

// Writes NAME/script.yaml and NAME/config.yaml; refuses (false, with a message on `err`) when NAME
// exists and is not an empty folder, so that nothing of the user's is overwritten.
bool new_res_dir(const std::string& name, std::FILE* out, std::FILE* err);

}  // namespace ntx::cli
