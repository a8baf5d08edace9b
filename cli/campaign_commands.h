// policyctl's campaign commands (proto/wapolicy/v1/campaign.proto):
//
//   plan     --number --template_name [--language] --customers=FILE [--start=RFC3339]
//            [--step=1m] [--per_customer]
//            prints the counts by outcome, the schedule, when the last can go
//            and the upgrade; --per_customer adds a line per customer
//   reserve  --number --template_name [--language] --customers=FILE
//            admits every listed customer now, or none
//
// FILE holds one E.164 number a line ('#' starts a comment). Large plans may
// need a longer --timeout.
//
//   if (cmd == "plan" || cmd == "reserve") return RunCampaignCommand(cmd, channel, &ctx);
#ifndef WAPOLICY_CLI_CAMPAIGN_COMMANDS_H_
#define WAPOLICY_CLI_CAMPAIGN_COMMANDS_H_

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace wapolicy {

// Runs "plan" or "reserve" on `channel` with `ctx` (token and deadline set);
// the process's exit code.
int RunCampaignCommand(const std::string& cmd, const std::shared_ptr<grpc::Channel>& channel,
                       grpc::ClientContext* ctx);

}  // namespace wapolicy

#endif  // WAPOLICY_CLI_CAMPAIGN_COMMANDS_H_
