// What each engine over two servers (compare, repair, replicate) holds
// around its own work, built one way: its options, the store, the run
// (run.h: claim, restart watch, checkpoints, stop token, end) and the client
// options of both sides, copies of the options' whose connections report
// the servers' run_ids to the run's one restart watch.
#pragma once

#include <string>

#include "client.h"
#include "run.h"
#include "store.h"

namespace migcheck {

template <typename Options>
class EngineBase {
 protected:
  // `command` names the run and its checkpoint ("compare").
  EngineBase(const Options& o, Store& store, const std::string& command)
      : o_(o),
        store_(store),
        run_(store, command, o.stop),
        source_client_(run_.client_options(o.source_client)),
        target_client_(run_.client_options(o.target_client)) {}

  const Options& o_;
  Store& store_;
  Run run_;
  ClientOptions source_client_, target_client_;
};

}  // namespace migcheck
