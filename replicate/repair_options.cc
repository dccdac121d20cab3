// The options JSON of a repair run: see repair_options.h.
#include "repair_options.h"

namespace migcheck {

nlohmann::json repair_options_json(const RepairOptions& o, int round) {
  nlohmann::json j = recorded_json(o);
  j["source"] = o.source.display();
  j["target"] = o.target.display();
  j["round"] = round;
  return j;
}

}  // namespace migcheck
