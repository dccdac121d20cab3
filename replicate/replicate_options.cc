// The options JSON of a replicate run: see replicate_options.h.
#include "replicate_options.h"

namespace migcheck {

nlohmann::json replicate_options_json(const ReplicateOptions& o) {
  return run_options_json(o);
}

}  // namespace migcheck
