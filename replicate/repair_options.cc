// The options JSON of a repair run: see repair_options.h.
#include "repair_options.h"

namespace migcheck {

nlohmann::json repair_options_json(const RepairOptions& o, int round) {
  nlohmann::json j = run_options_json(o);
  j["round"] = round;
  return j;
}

}  // namespace migcheck
