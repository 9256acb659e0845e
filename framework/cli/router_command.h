// `deepseek router ...`: training and inspecting the adaptive-path router (model/SPEC.md section 7).
#pragma once

#include <string>
#include <vector>

namespace ds {

// `deepseek router train --model M --data D [options]` runs the model's three paths on the
// calibration inputs, labels each with the cheapest path that agrees with heavy, trains the XGBoost
// router and writes `<stem>.router.json` + `<stem>.router.yaml` next to the model (or --out).
// `deepseek router info FILE [--model M]` validates a router file and describes it.
// `args` are the words after "router". Returns the exit code: 0 done; 2 usage error or bad input
// (the message names the file, line or key); 3 a runtime failure (XGBoost, an unwritable file).
int run_router_command(const std::vector<std::string>& args);

}  // namespace ds
