// The options JSON of a compare run: see compare_options.h.
#include "compare_options.h"

#include "db_pairs.h"

namespace migcheck {

nlohmann::json compare_options_json(const CompareOptions& o) {
  nlohmann::json j = recorded_json(o);
  j["source"] = o.source.display();
  j["target"] = o.target.display();
  add_db_options(j, requested_db_pairs(o.db_pairs, o.all_dbs, o.source, o.target));
  return j;
}

}  // namespace migcheck
