#include "server/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace wapolicy {

absl::StatusOr<std::string> ReadPrivateFile(const std::string& path, size_t max_bytes,
                                            absl::string_view holds) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string why = absl::StrCat(path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(why) : absl::FailedPreconditionError(why);
  }
  // Checked on the open file, so what is checked is what is read.
  struct stat st;
  std::string text;
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = absl::FailedPreconditionError(absl::StrCat(path, ": ", std::strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    status = absl::FailedPreconditionError(absl::StrCat(path, ": not a regular file"));
  } else if ((st.st_mode & 077) != 0) {
    status = absl::FailedPreconditionError(
        absl::StrFormat("%s: mode %04o lets group or others in; it holds %s: chmod 600 it",
                        path, st.st_mode & 07777, std::string(holds)));
  } else if (st.st_uid != geteuid()) {
    status = absl::FailedPreconditionError(absl::StrFormat(
        "%s: owned by uid %d, not by this server's uid %d", path, st.st_uid, geteuid()));
  } else if (static_cast<size_t>(st.st_size) > max_bytes) {
    status = absl::FailedPreconditionError(
        absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
  } else {
    char buf[8192];
    for (;;) {
      const ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = absl::FailedPreconditionError(absl::StrCat(path, ": ", std::strerror(errno)));
        break;
      }
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
      if (text.size() > max_bytes) {
        status = absl::FailedPreconditionError(
            absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
        break;
      }
    }
  }
  close(fd);
  if (!status.ok()) return status;
  return text;
}

}  // namespace wapolicy
