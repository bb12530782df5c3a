// Creating the files a run writes (into --out and the folders under it) without following links: a
// symlink planted where ntx writes (report.json.tmp -> /victim) is replaced, never written through.
// Every open is relative to the parent folder's descriptor, with O_NOFOLLOW | O_EXCL.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string_view>

namespace ntx::files {

// Creates `path` as a new, empty file open for writing: whatever entry is at that name (a stale
// file, a planted symlink: the link itself, never what it points to) is removed first, then the file
// is opened with O_CREAT | O_EXCL | O_NOFOLLOW relative to the parent folder's descriptor.
// Returns the descriptor (the caller closes it); throws std::system_error.
int create(const std::filesystem::path& path);
// The same, as a stdio stream (fclose closes it).
std::FILE* create_stream(const std::filesystem::path& path);
// Writes `content` into `path`.tmp (created as above) and renames it over `path`: a reader sees the
// old file or the whole new one, never half of it; a symlink at `path` is replaced, not followed.
// With `parent_may_be_link` false, a parent folder that is a symlink is refused too (a persist folder
// planted as a link out of --out); --out itself, named by the user, may be one.
void write_atomic(const std::filesystem::path& path, std::string_view content, bool parent_may_be_link = true);
// Renames `from` to `to`, both in one folder (a temporary published under its final name), relative
// to that folder's descriptor: whatever is at `to` (a planted link included) is replaced, never followed.
void publish(const std::filesystem::path& from, const std::filesystem::path& to);
// Creates the folder `path` (its parent must exist). False when something is already at that name
// (the caller picks another); throws std::system_error for other failures.
bool create_folder(const std::filesystem::path& path);
// Copies the regular file `from` (not a link: refused) to `to`, a new file in a folder that must not be
// a link either (created as create() does).
void copy_file(const std::filesystem::path& from, const std::filesystem::path& to);
// Appends `content` to `path` with one write (O_APPEND: concurrent appenders do not interleave short
// lines), creating it if missing. A link, or a file with another name linked to it (a hard link
// planted to a victim), at `path` is refused, never written through.
void append(const std::filesystem::path& path, std::string_view content);

}  // namespace ntx::files
