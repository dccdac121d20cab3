// Filters and expiry handling of a snapshot file used as a compare source.
#include "rdb_source.h"

#include <algorithm>

#include "scanner.h"

namespace migcheck {

RdbSourceTotals read_rdb_source(const std::string& path, const RdbSourceOptions& opts,
                                const std::function<void(const RdbKeyState&)>& sink) {
  RdbSourceTotals t;
  auto type_wanted = [&opts](std::string_view name) {
    return opts.types.empty() ||
           std::find(opts.types.begin(), opts.types.end(), name) != opts.types.end();
  };
  RdbDigestOptions d;
  d.stream_extended_meta = opts.stream_extended_meta;
  d.now_ms = opts.now_ms;
  d.want = [&](const RdbKey& k) {
    // A module value's type name is known only once its body is read: its
    // type filter is applied in the sink below.
    if ((opts.db && k.db != *opts.db) ||
        (!opts.dbs.empty() &&
         std::find(opts.dbs.begin(), opts.dbs.end(), k.db) == opts.dbs.end()) ||
        (!opts.match.empty() && !glob_match(opts.match, k.key)) ||
        (k.kind != RdbKind::Module && !type_wanted(rdb_kind_name(k.kind)))) {
      ++t.filtered;
      return false;
    }
    if (k.expire_ms && opts.now_ms > 0 && *k.expire_ms <= opts.now_ms) {
      ++t.expired_skipped;
      return false;
    }
    return true;
  };
  t.rdb_version = digest_rdb_file(
      path,
      [&](const RdbKeyState& s) {
        if (s.type == ValueType::Other && !type_wanted(s.type_name)) {
          ++t.filtered;
          return;
        }
        ++t.keys;
        sink(s);
      },
      std::move(d));
  return t;
}

}  // namespace migcheck
