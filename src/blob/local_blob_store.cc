#include "blob/local_blob_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "common/hash.h"

namespace loupe {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTempPrefix = ".tmp-";
constexpr size_t kMaxSegment = 200;

absl::Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  return absl::UnavailableError(std::string(what) + " " + path + ": " + std::strerror(err));
}

// Closes the descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now so that a close error (possible on some file systems after
  // delayed writes) is reported rather than ignored.
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// A rename is only durable once the directory entry itself is on disk.
absl::Status FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync directory", dir, errno);
  return absl::OkStatus();
}

class LocalBlobStore final : public BlobStore {
 public:
  explicit LocalBlobStore(std::string root) : root_(std::move(root)) {}

  absl::Status Put(std::string_view key, std::string_view data) override {
    if (absl::Status s = ValidateBlobKey(key); !s.ok()) return s;
    const fs::path target = PathOf(key);
    const std::string dir = target.parent_path().string();
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return absl::UnavailableError("cannot create " + dir + ": " + ec.message());
    const std::string tmp = dir + "/" + std::string(kTempPrefix) + RandomHex(8);
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.get() < 0) return ErrnoStatus("create", tmp, errno);
    absl::Status status = WriteAll(fd.get(), data, tmp);
    if (status.ok() && ::fsync(fd.get()) != 0) status = ErrnoStatus("fsync", tmp, errno);
    if (fd.Close() != 0 && status.ok()) status = ErrnoStatus("close", tmp, errno);
    if (status.ok() && ::rename(tmp.c_str(), target.c_str()) != 0) {
      status = ErrnoStatus("rename", tmp, errno);
    }
    if (!status.ok()) {
      ::unlink(tmp.c_str());
      return status;
    }
    return FsyncDir(dir);
  }

  absl::StatusOr<std::string> Get(std::string_view key) override {
    if (absl::Status s = ValidateBlobKey(key); !s.ok()) return s;
    const std::string path = PathOf(key).string();
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ENOENT) return absl::NotFoundError("no blob " + std::string(key));
      return ErrnoStatus("open", path, errno);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", path, errno);
    std::string out;
    out.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("read", path, errno);
      if (n == 0) break;  // the file shrank; objects are replaced, never truncated
      done += static_cast<size_t>(n);
    }
    out.resize(done);
    return out;
  }

  absl::StatusOr<bool> Exists(std::string_view key) override {
    if (absl::Status s = ValidateBlobKey(key); !s.ok()) return s;
    const std::string path = PathOf(key).string();
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return S_ISREG(st.st_mode);
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return ErrnoStatus("stat", path, errno);
  }

  absl::StatusOr<BlobInfo> Stat(std::string_view key) override {
    if (absl::Status s = ValidateBlobKey(key); !s.ok()) return s;
    const std::string path = PathOf(key).string();
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return absl::NotFoundError("no blob " + path);
      return ErrnoStatus("stat", path, errno);
    }
    if (!S_ISREG(st.st_mode)) return absl::NotFoundError("no blob " + path);
    BlobInfo info;
    info.size = static_cast<int64_t>(st.st_size);
    return info;
  }

  absl::Status Delete(std::string_view key) override {
    if (absl::Status s = ValidateBlobKey(key); !s.ok()) return s;
    const fs::path path = PathOf(key);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return absl::OkStatus();
      return ErrnoStatus("unlink", path.string(), errno);
    }
    return FsyncDir(path.parent_path().string());
  }

  // Removes temporary files of Puts that a crash interrupted.
  void RemoveStaleTempFiles() {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.rfind(kTempPrefix, 0) == 0 && it->is_regular_file(ec)) {
        std::error_code rm_ec;
        fs::remove(it->path(), rm_ec);
      }
    }
  }

 private:
  fs::path PathOf(std::string_view key) const { return fs::path(root_) / std::string(key); }

  static absl::Status WriteAll(int fd, std::string_view data, const std::string& path) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("write", path, errno);
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  const std::string root_;
};

bool SegmentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

absl::Status ValidateBlobKey(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("blob key is empty");
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view seg = key.substr(start, end - start);
    if (seg.empty() || seg.size() > kMaxSegment || seg.front() == '.') {
      return absl::InvalidArgumentError("invalid blob key: " + std::string(key));
    }
    for (char c : seg) {
      if (!SegmentChar(c))
        return absl::InvalidArgumentError("invalid blob key: " + std::string(key));
    }
    start = end + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BlobStore>> OpenLocalBlobStore(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec)
    return absl::UnavailableError("cannot create blob directory " + root + ": " + ec.message());
  auto store = std::make_unique<LocalBlobStore>(root);
  store->RemoveStaleTempFiles();
  return std::unique_ptr<BlobStore>(std::move(store));
}

}  // namespace loupe
