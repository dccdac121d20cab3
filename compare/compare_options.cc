// The options JSON of a compare run: see compare_options.h.
#include "compare_options.h"

namespace migcheck {

nlohmann::json compare_options_json(const CompareOptions& o) {
  return run_options_json(o);
}

}  // namespace migcheck
