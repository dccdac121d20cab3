// The snapshot summary of `migcheck info FILE`.
#include "rdb_info.h"

#include <algorithm>
#include <chrono>

#include "duration.h"
#include "printable.h"
#include "rdb_parser.h"
#include "rdb_reader.h"

namespace migcheck {
namespace {

// "#!lua name=mylib ..." -> "mylib".
std::string library_name(std::string_view code) {
  const size_t eol = code.find('\n');
  std::string_view first = code.substr(0, eol);
  const size_t at = first.find("name=");
  if (at == std::string_view::npos) return "?";
  std::string_view name = first.substr(at + 5);
  return std::string(name.substr(0, name.find(' ')));
}

bool bigger(const RdbBigKey& a, const RdbBigKey& b) {
  return a.bytes > b.bytes;
}

class SummaryVisitor : public RdbVisitor {
 public:
  SummaryVisitor(RdbSummary& s, size_t top, int64_t now_ms) : s_(s), top_(top), now_(now_ms) {}

  void on_version(int v) override { s_.version = v; }
  void on_aux(std::string_view k, std::string_view v) override {
    s_.aux.emplace_back(std::string(k), std::string(v));
  }
  void on_resize_db(int db, uint64_t keys, uint64_t expires) override {
    s_.dbs[db].resize_keys = keys;
    s_.dbs[db].resize_expires = expires;
  }
  void on_function(std::string_view code) override { s_.functions.push_back(library_name(code)); }
  void on_module_aux(std::string_view m) override { s_.module_aux.emplace_back(m); }
  bool begin_key(const RdbKey& k) override {
    db_ = k.db;
    kind_ = k.kind;
    type_byte_ = k.rdb_type;
    key_.assign(k.key);
    expire_ = k.expire_ms;
    module_.clear();
    // Module values are reported so their type name is known; the others
    // need no element callbacks (the parser still walks them).
    return true;
  }
  // Only a module value's type name is needed: its bytes are not held.
  bool takes_module_pieces() const override { return true; }
  void module_begin(std::string_view name) override { module_.assign(name); }
  // Elements are not looked at: a big one is walked in pieces, never held.
  bool takes_element_pieces() const override { return true; }
  void end_key(uint64_t bytes) override {
    RdbDbSummary& d = s_.dbs[db_];
    const std::string type = kind_ == RdbKind::Module ? module_ : rdb_kind_name(kind_);
    ++d.keys;
    RdbTypeCount& t = d.types[type];
    ++t.keys;
    ++d.encodings[rdb_encoding_name(type_byte_)];
    if (expire_) {
      ++d.expires;
      ++t.expires;
      if (now_ > 0 && *expire_ <= now_) ++d.expired;
    }
    if (kind_ == RdbKind::Module) ++s_.module_types[type];
    if (top_ == 0) return;
    if (heap_.size() == top_ && bytes <= heap_.front().bytes) return;
    heap_.push_back(RdbBigKey{db_, key_, type, bytes});
    std::push_heap(heap_.begin(), heap_.end(), bigger);  // min-heap on bytes
    if (heap_.size() > top_) {
      std::pop_heap(heap_.begin(), heap_.end(), bigger);
      heap_.pop_back();
    }
  }
  void on_end(bool verified) override {
    s_.checksum_verified = verified;
    std::sort_heap(heap_.begin(), heap_.end(), bigger);
    s_.biggest = std::move(heap_);
  }

 private:
  RdbSummary& s_;
  size_t top_;
  int64_t now_;
  int db_ = 0;
  RdbKind kind_ = RdbKind::String;
  uint8_t type_byte_ = 0;
  std::string key_, module_;
  std::optional<int64_t> expire_;
  std::vector<RdbBigKey> heap_;
};

}  // namespace

const char* rdb_encoding_name(uint8_t t) {
  switch (t) {
    case 0:
      return "string";
    case 1:
      return "linkedlist";
    case 2:
    case 4:
      return "hashtable";
    case 3:
    case 5:
      return "skiplist";
    case 6:
    case 7:
      return "module";
    case 9:
      return "zipmap";
    case 10:
    case 12:
    case 13:
      return "ziplist";
    case 11:
      return "intset";
    case 14:
      return "quicklist";
    case 18:
      return "quicklist2";
    case 16:
    case 17:
    case 20:
      return "listpack";
    case 15:
    case 19:
    case 21:
      return "stream";
    case 22:
    case 24:
      return "hashtable-ex";
    case 23:
    case 25:
      return "listpack-ex";
    default:
      return "?";
  }
}

RdbSummary summarize_rdb(const std::string& path, size_t top, int64_t now_ms) {
  RdbSummary s;
  s.path = path;
  RdbInput in(path);
  s.file_bytes = in.size();
  SummaryVisitor v(s, top, now_ms);
  RdbParser(in, v).run();
  return s;
}

nlohmann::json to_json(const RdbSummary& s) {
  nlohmann::json j;
  j["file"] = printable_bytes(s.path);
  j["kind"] = "rdb";
  j["file_bytes"] = s.file_bytes;
  j["rdb_version"] = s.version;
  j["checksum"] = s.checksum_verified ? "verified" : "absent";
  nlohmann::json aux = nlohmann::json::object();
  for (const auto& [k, v] : s.aux) aux[printable_bytes(k)] = printable_bytes(v);
  j["aux"] = aux;
  uint64_t keys = 0, expires = 0, expired = 0;
  nlohmann::json dbs = nlohmann::json::array();
  for (const auto& [db, d] : s.dbs) {
    nlohmann::json types = nlohmann::json::object();
    for (const auto& [t, c] : d.types)
      types[printable_bytes(t)] = {{"keys", c.keys}, {"expires", c.expires}};
    nlohmann::json enc = nlohmann::json::object();
    for (const auto& [e, n] : d.encodings) enc[e] = n;
    dbs.push_back({{"db", db},
                   {"keys", d.keys},
                   {"expires", d.expires},
                   {"already_expired", d.expired},
                   {"types", types},
                   {"encodings", enc}});
    keys += d.keys;
    expires += d.expires;
    expired += d.expired;
  }
  j["keys"] = keys;
  j["expires"] = expires;
  j["already_expired"] = expired;
  j["dbs"] = dbs;
  nlohmann::json big = nlohmann::json::array();
  for (const auto& b : s.biggest)
    big.push_back({{"db", b.db},
                   {"key", printable_bytes(b.key)},
                   {"type", printable_bytes(b.type)},
                   {"bytes", b.bytes}});
  j["biggest_keys"] = big;
  nlohmann::json mods = nlohmann::json::object();
  for (const auto& [m, n] : s.module_types) mods[printable_bytes(m)] = n;
  j["module_types"] = mods;
  nlohmann::json maux = nlohmann::json::array();
  for (const auto& m : s.module_aux) maux.push_back(printable_bytes(m));
  j["module_aux"] = maux;
  nlohmann::json fns = nlohmann::json::array();
  for (const auto& f : s.functions) fns.push_back(printable_bytes(f));
  j["functions"] = fns;
  return j;
}

void print_text(const RdbSummary& s, std::FILE* out) {
  auto line = [out](const char* k, const std::string& v) {
    std::fprintf(out, "  %-24s %s\n", k, v.c_str());
  };
  std::fprintf(out, "%s\n", printable_bytes(s.path).c_str());
  line("kind", "snapshot file (RDB " + std::to_string(s.version) + ")");
  line("size", format_bytes(s.file_bytes));
  line("checksum", s.checksum_verified ? "verified" : "absent (written without one)");
  for (const auto& [k, v] : s.aux) {
    std::string shown = printable_bytes(v);
    if (k == "used-mem") {
      try {
        shown = format_bytes(std::stoull(v));
      } catch (const std::exception&) {
      }
    }
    line(("aux " + printable_bytes(k)).c_str(), shown);
  }
  uint64_t keys = 0, expires = 0, expired = 0;
  for (const auto& [db, d] : s.dbs) {
    keys += d.keys;
    expires += d.expires;
    expired += d.expired;
  }
  line("keys", std::to_string(keys) + " (" + std::to_string(expires) + " with an expiry, " +
                   std::to_string(expired) + " already expired)");
  for (const auto& [db, d] : s.dbs) {
    std::string types;
    for (const auto& [t, c] : d.types)
      types += (types.empty() ? "" : ", ") + printable_bytes(t) + "=" + std::to_string(c.keys);
    std::fprintf(out, "    db%-4d keys=%-10llu expires=%-10llu %s\n", db,
                 static_cast<unsigned long long>(d.keys),
                 static_cast<unsigned long long>(d.expires), types.c_str());
  }
  if (!s.module_types.empty()) {
    std::string m;
    for (const auto& [t, n] : s.module_types)
      m += (m.empty() ? "" : ", ") + printable_bytes(t) + "=" + std::to_string(n);
    line("module types", m);
  }
  if (!s.module_aux.empty()) {
    std::string m;
    for (const auto& t : s.module_aux) m += (m.empty() ? "" : ", ") + printable_bytes(t);
    line("module aux data", m);
  }
  std::string fns;
  for (const auto& f : s.functions) fns += (fns.empty() ? "" : ", ") + printable_bytes(f);
  line("functions", fns.empty() ? "none" : fns);
  if (!s.biggest.empty()) {
    std::fprintf(out, "  biggest keys (serialised size):\n");
    for (const auto& b : s.biggest)
      std::fprintf(out, "    %10s  db%-3d %-8s %s\n", format_bytes(b.bytes).c_str(), b.db,
                   printable_bytes(b.type).c_str(), printable_bytes(b.key).c_str());
  }
}

}  // namespace migcheck
