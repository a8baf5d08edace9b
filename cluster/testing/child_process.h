// A child process for tests (etcd, nginx): started from an argv with its
// output in a log file, SIGKILLed and reaped when the object goes away.
//
//   ChildProcess etcd({"/usr/bin/etcd", "--data-dir=" + dir}, dir + ".log");
//   ASSERT_TRUE(etcd.Start().ok());
//   etcd.Kill();                      // or let the destructor do it
//   std::string log = etcd.ReadLog(); // for failure messages
#ifndef WAPOLICY_CLUSTER_TESTING_CHILD_PROCESS_H_
#define WAPOLICY_CLUSTER_TESTING_CHILD_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace wapolicy::cluster::testing {

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, std::string log_path)
      : argv_(std::move(argv)), log_path_(std::move(log_path)) {}
  ~ChildProcess() { Kill(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  absl::Status Start() {
    if (running()) return absl::FailedPreconditionError("already running");
    // Everything the child needs is built before fork(): between fork and
    // exec a multi-threaded parent's child may only make async-signal-safe
    // calls.
    std::vector<char*> args;
    for (std::string& a : argv_) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) return absl::InternalError("fork failed");
    if (pid_ == 0) {
      // Dies with the test even if the test crashes before its destructors.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execv(args[0], args.data());
      _exit(127);
    }
    return absl::OkStatus();
  }

  // False once the child has exited (reaps it).
  bool running() {
    if (pid_ <= 0) return false;
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string ReadLog() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  pid_t pid() const { return pid_; }

 private:
  std::vector<std::string> argv_;
  std::string log_path_;
  pid_t pid_ = -1;
};

}  // namespace wapolicy::cluster::testing

#endif  // WAPOLICY_CLUSTER_TESTING_CHILD_PROCESS_H_
