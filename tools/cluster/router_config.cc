// router_config: keeps the cluster's router (nginx 1.22) in step with etcd.
// It reads and watches everything under the cluster's prefix (members,
// ring, pins), renders nginx.conf (cluster/nginx_config.h), and on every
// change writes it atomically (a temp file, `nginx -t` on it, rename) and
// reloads nginx gracefully (SIGHUP to the master: new workers take new
// connections, old ones finish their calls).
//
//   router_config --etcd=127.0.0.1:2379 --out=/var/lib/wapolicy-router/nginx.conf \
//       --grpc_listen=0.0.0.0:9090 --http_listen=0.0.0.0:9080
//   nginx -p /var/lib/wapolicy-router -c /var/lib/wapolicy-router/nginx.conf
//   router_config --once ...   # render, check and write once, then exit
//
// --applied_file gets the etcd revision of the last configuration applied
// (written and reloaded), for scripts and tests that wait for the router.

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster/assignment.h"
#include "cluster/cluster_layout.h"
#include "cluster/etcd_client.h"
#include "cluster/nginx_config.h"

ABSL_FLAG(std::string, etcd, "127.0.0.1:2379", "host:port of etcd's client URL.");
ABSL_FLAG(std::string, cluster_prefix, "/wapolicy", "The cluster's etcd key prefix.");
ABSL_FLAG(std::string, out, "", "The nginx.conf to write (required).");
ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:9090", "host:port of the router's gRPC listener.");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:9080",
          "host:port of the router's HTTP listener (JSON API, webhooks). Empty: none.");
ABSL_FLAG(std::string, runtime_dir, "",
          "nginx's pid, error log and temp files. Empty: the directory of --out.");
ABSL_FLAG(bool, http_context_only, false,
          "Render only what goes inside http { } (for an include in an existing nginx.conf); "
          "--nginx_conf then names the main file to check and --nginx_pid_file its master.");
ABSL_FLAG(std::string, nginx_conf, "", "With --http_context_only: the main nginx.conf.");
ABSL_FLAG(std::string, nginx_pid_file, "",
          "The nginx master's pid file. Empty: <runtime_dir>/nginx.pid.");
ABSL_FLAG(std::string, nginx, "/usr/sbin/nginx", "The nginx binary (for nginx -t).");
ABSL_FLAG(int, worker_processes, 1, "nginx worker processes.");
ABSL_FLAG(bool, reload, true, "SIGHUP nginx after each change (if its pid file names a process).");
ABSL_FLAG(bool, once, false, "Render, check and write once, then exit.");
ABSL_FLAG(std::string, applied_file, "",
          "Write the etcd revision of each configuration applied here (for tests and scripts).");
ABSL_FLAG(absl::Duration, settle, absl::Milliseconds(100),
          "Wait this long after a change for more before rendering (one reload for a burst).");

namespace {

using namespace wapolicy::cluster;

void Log(const std::string& msg) { std::fprintf(stderr, "router_config: %s\n", msg.c_str()); }

// What the watch keeps.
struct State {
  absl::Mutex mu;
  Assignment assignment ABSL_GUARDED_BY(mu);
  int64_t changes ABSL_GUARDED_BY(mu) = 0;
};

absl::Status Run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  if (rc != 0) return absl::InternalError(absl::StrCat("`", cmd, "` exited with ", rc));
  return absl::OkStatus();
}

void WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  { std::ofstream(tmp, std::ios::trunc) << text; }
  std::rename(tmp.c_str(), path.c_str());
}

// Writes `conf` to --out if nginx accepts it; then reloads nginx.
absl::Status Apply(const std::string& conf, const std::string& runtime_dir) {
  const std::string out = absl::GetFlag(FLAGS_out);
  const std::string nginx = absl::GetFlag(FLAGS_nginx);
  const std::string tmp = out + ".new";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << conf;
    f.close();
    if (!f) return absl::InternalError("--out: cannot write " + tmp);
  }
  if (!absl::GetFlag(FLAGS_http_context_only)) {
    // A complete file: checked as it is, before it replaces the old one.
    if (absl::Status s = Run(absl::StrCat(nginx, " -t -q -p ", runtime_dir, " -c ", tmp, " -e ",
                                          runtime_dir, "/check.log"));
        !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("nginx rejects the rendered file ", tmp,
                                                     " (see ", runtime_dir, "/check.log)"));
    }
    std::rename(tmp.c_str(), out.c_str());
  } else {
    // An include: the main file is checked with it in place, the old one
    // put back if nginx refuses.
    const std::string old = out + ".old";
    const bool had_old = std::filesystem::exists(out);
    if (had_old) std::filesystem::copy_file(out, old, std::filesystem::copy_options::overwrite_existing);
    std::rename(tmp.c_str(), out.c_str());
    const std::string main_conf = absl::GetFlag(FLAGS_nginx_conf);
    if (absl::Status s = Run(absl::StrCat(nginx, " -t -q", main_conf.empty() ? "" : " -c ",
                                          main_conf));
        !s.ok()) {
      if (had_old) std::rename(old.c_str(), out.c_str());
      return absl::InvalidArgumentError("nginx rejects the rendered include; the old one is back");
    }
  }
  if (!absl::GetFlag(FLAGS_reload) || absl::GetFlag(FLAGS_once)) return absl::OkStatus();
  std::string pid_file = absl::GetFlag(FLAGS_nginx_pid_file);
  if (pid_file.empty()) pid_file = runtime_dir + "/nginx.pid";
  std::ifstream in(pid_file);
  std::string text;
  int pid = 0;
  if (!(in >> text) || !absl::SimpleAtoi(text, &pid) || pid <= 0) {
    Log(absl::StrCat("nginx is not running (no pid in ", pid_file, "): written, not reloaded"));
    return absl::OkStatus();
  }
  // SIGHUP: the master re-reads the file, starts new workers and lets the
  // old ones finish their connections (a graceful reload).
  if (kill(pid, SIGHUP) != 0) {
    Log(absl::StrCat("nginx pid ", pid, " from ", pid_file, " is gone: written, not reloaded"));
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_out).empty()) {
    Log("--out: required");
    return 2;
  }
  std::string runtime_dir = absl::GetFlag(FLAGS_runtime_dir);
  if (runtime_dir.empty()) {
    runtime_dir = std::filesystem::absolute(absl::GetFlag(FLAGS_out)).parent_path().string();
  }
  NginxConfigOptions options;
  options.grpc_listen = absl::GetFlag(FLAGS_grpc_listen);
  options.http_listen = absl::GetFlag(FLAGS_http_listen);
  options.complete = !absl::GetFlag(FLAGS_http_context_only);
  options.runtime_dir = runtime_dir;
  options.worker_processes = absl::GetFlag(FLAGS_worker_processes);
  options.run_as_root = geteuid() == 0;

  const ClusterLayout layout(absl::GetFlag(FLAGS_cluster_prefix));
  EtcdClient client(absl::GetFlag(FLAGS_etcd));
  absl::StatusOr<EtcdRange> range = client.GetPrefix(layout.Root());
  if (!range.ok()) {
    Log(absl::StrCat("--etcd: reading ", layout.Root(), ": ", range.status().message()));
    return 1;
  }
  State state;
  {
    absl::MutexLock lock(&state.mu);
    state.assignment = Assignment(layout);
    for (const EtcdKeyValue& kv : range->kvs) (void)state.assignment.Put(kv.key, kv.value);
    state.assignment.set_revision(range->revision);
    state.changes = 1;
  }
  std::unique_ptr<EtcdWatch> watch;
  if (!absl::GetFlag(FLAGS_once)) {
    watch = client.Watch(layout.Root(), range->revision + 1, [&state](const EtcdWatchUpdate& u) {
      absl::MutexLock lock(&state.mu);
      if (u.reset) {
        state.assignment.Clear();
        for (const EtcdKeyValue& kv : u.snapshot) (void)state.assignment.Put(kv.key, kv.value);
      }
      for (const EtcdEvent& e : u.events) {
        if (e.is_delete) {
          state.assignment.Delete(e.kv.key);
        } else {
          (void)state.assignment.Put(e.kv.key, e.kv.value);
        }
      }
      state.assignment.set_revision(u.revision);
      ++state.changes;
    });
  }
  std::string applied;  // The text nginx runs.
  int64_t seen = 0;
  while (true) {
    std::string conf;
    int64_t revision;
    {
      absl::MutexLock lock(&state.mu);
      auto changed = [&state, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state.mu) {
        return state.changes != seen;
      };
      state.mu.Await(absl::Condition(&changed));
    }
    absl::SleepFor(absl::GetFlag(FLAGS_settle));  // Let a burst of changes land.
    {
      absl::MutexLock lock(&state.mu);
      seen = state.changes;
      conf = RenderNginxConfig(state.assignment, options);
      revision = state.assignment.revision();
    }
    if (conf != applied) {
      absl::Status s = Apply(conf, runtime_dir);
      if (!s.ok()) {
        Log(std::string(s.message()));
        if (absl::GetFlag(FLAGS_once)) return 1;
        continue;
      }
      applied = conf;
      Log(absl::StrCat("applied revision ", revision));
    }
    if (!absl::GetFlag(FLAGS_applied_file).empty()) {
      WriteAtomically(absl::GetFlag(FLAGS_applied_file), absl::StrCat(revision, "\n"));
    }
    if (absl::GetFlag(FLAGS_once)) return 0;
  }
}
