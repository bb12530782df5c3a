#include "files/safe_file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <string>
#include <system_error>
#include <unistd.h>

namespace ntx::files {
namespace {

std::system_error error(const std::string& what, const std::filesystem::path& path) {
    return std::system_error(errno, std::generic_category(), what + " " + path.string());
}

// The parent folder, opened as a directory (the folder named by the user may itself be a link).
int open_parent(const std::filesystem::path& path, bool may_be_link = true) {
    std::filesystem::path parent = path.parent_path();
    if (parent.empty()) parent = ".";
    int dir = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | (may_be_link ? 0 : O_NOFOLLOW));
    if (dir < 0) throw error("cannot open the folder of", path);
    return dir;
}

int create_at(int dir, const std::string& name, const std::filesystem::path& path) {
    // Unlinking removes a symlink itself (or a stale file); O_EXCL | O_NOFOLLOW then refuses anything
    // planted between the two calls instead of following it.
    if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT && errno != EISDIR)
        throw error("cannot replace", path);
    int fd = ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) throw error("cannot create", path);
    return fd;
}

struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

void write_all(int fd, std::string_view content, const std::filesystem::path& path) {
    for (size_t done = 0; done < content.size();) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw error("cannot write", path);
        done += static_cast<size_t>(n);
    }
}

}  // namespace

int create(const std::filesystem::path& path) {
    Fd dir{open_parent(path)};
    return create_at(dir.fd, path.filename().string(), path);
}

std::FILE* create_stream(const std::filesystem::path& path) {
    int fd = create(path);
    std::FILE* f = ::fdopen(fd, "w");
    if (!f) {
        ::close(fd);
        throw error("cannot open", path);
    }
    return f;
}

void write_atomic(const std::filesystem::path& path, std::string_view content, bool parent_may_be_link) {
    Fd dir{open_parent(path, parent_may_be_link)};
    const std::string name = path.filename().string(), tmp = name + ".tmp";
    Fd out{create_at(dir.fd, tmp, path)};
    write_all(out.fd, content, path);
    if (::close(out.fd) != 0) {
        out.fd = -1;
        throw error("cannot write", path);
    }
    out.fd = -1;
    if (::renameat(dir.fd, tmp.c_str(), dir.fd, name.c_str()) != 0) throw error("cannot rename into", path);
}

void publish(const std::filesystem::path& from, const std::filesystem::path& to) {
    Fd dir{open_parent(to)};
    if (::renameat(dir.fd, from.filename().c_str(), dir.fd, to.filename().c_str()) != 0)
        throw error("cannot rename into", to);
}

bool create_folder(const std::filesystem::path& path) {
    Fd dir{open_parent(path)};
    if (::mkdirat(dir.fd, path.filename().c_str(), 0755) == 0) return true;
    if (errno == EEXIST) return false;
    throw error("cannot create the folder", path);
}

void copy_file(const std::filesystem::path& from, const std::filesystem::path& to) {
    Fd in{::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
    if (in.fd < 0) throw error("cannot open", from);
    struct stat st {};
    if (::fstat(in.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        errno = EINVAL;
        throw error("not a regular file:", from);
    }
    Fd dir{open_parent(to, false)};
    Fd out{create_at(dir.fd, to.filename().string(), to)};
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(in.fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw error("cannot read", from);
        if (n == 0) break;
        write_all(out.fd, std::string_view(buf, static_cast<size_t>(n)), to);
    }
    const int fd = out.fd;
    out.fd = -1;
    if (::close(fd) != 0) throw error("cannot write", to);
}

void append(const std::filesystem::path& path, std::string_view content) {
    Fd dir{open_parent(path)};
    Fd out{::openat(dir.fd, path.filename().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644)};
    if (out.fd < 0) throw error("cannot open (a link is never followed)", path);
    struct stat st {};
    if (::fstat(out.fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        errno = EPERM;
        throw error("refusing to append to a file linked elsewhere:", path);
    }
    write_all(out.fd, content, path);
    const int fd = out.fd;
    out.fd = -1;
    if (::close(fd) != 0) throw error("cannot write", path);
}

}  // namespace ntx::files
