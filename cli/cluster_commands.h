// policyctl's cluster commands (issue 17; README "Scaling out"), run against
// etcd and the nodes' PolicyCluster service (cluster/portfolio_mover.h):
//
//   cluster status    --etcd [--cluster_prefix]
//            members (live or away), the ring, every pin with its state, and
//            the portfolios each live node holds
//   cluster move      --etcd --business=B --to=NODE [--stop_after_step=N]
//            moves one portfolio; re-run after a failure or crash, it
//            finishes the move from the pin it finds
//   cluster add-node  --etcd --node=ID [--address=HOST:PORT]
//            puts a running node (started with --cluster_join_ring=false) on
//            the ring, then moves to it the portfolios it now owns by ring
//   cluster drain     --etcd --node=ID
//            takes the node off the ring, then moves its portfolios to their
//            ring owners without it
//
// --token is sent to the nodes (an admin's, for servers with --tokens_file).
// --stop_after_step is a test hook: stop after step 1..4 as if crashed.
//
//   if (cmd == "cluster") return RunClusterCommand(args[2], business, token);
#ifndef WAPOLICY_CLI_CLUSTER_COMMANDS_H_
#define WAPOLICY_CLI_CLUSTER_COMMANDS_H_

#include <string>

namespace wapolicy {

// Runs `policyctl cluster <sub>`; the process's exit code.
int RunClusterCommand(const std::string& sub, const std::string& business,
                      const std::string& token);

}  // namespace wapolicy

#endif  // WAPOLICY_CLI_CLUSTER_COMMANDS_H_
