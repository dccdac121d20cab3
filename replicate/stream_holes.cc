// Placeholders for the pending entries of deleted stream entries, placed on
// a temporary key after its entries were written (see stream_holes.h).
#include "stream_holes.h"

namespace migcheck::copy_internal {
namespace {

// Sends `cmds`; false (and the first error appended) when one failed.
bool sent(Client& target, const std::vector<Command>& cmds, std::vector<StreamWriteError>& errors) {
  auto replies = target.execute(cmds, Resend::Never);
  for (size_t i = 0; i < replies.size(); ++i)
    if (replies[i].is_error()) {
      errors.push_back({replies[i].str, cmds[i][0]});
      return false;
    }
  return true;
}

}  // namespace

Holes missing_entries(Client& target, const std::string& key, const std::set<StreamId>& pending,
                      size_t page, std::vector<StreamWriteError>& errors) {
  Holes holes;
  std::vector<Command> probes;
  for (auto it = pending.begin(); it != pending.end();) {
    probes.clear();
    for (; it != pending.end() && probes.size() < page; ++it) {
      const std::string id = to_string(*it);
      probes.push_back({"XRANGE", key, id, id});
    }
    auto found = target.execute(probes, Resend::Unanswered);
    for (size_t i = 0; i < probes.size(); ++i) {
      if (found[i].is_error()) {
        errors.push_back({found[i].str, "XRANGE"});
        return {};
      }
      if (found[i].is_array() && found[i].elements.empty())
        holes.insert(parse_stream_id(probes[i][2]));
    }
  }
  return holes;
}

void rewrite_with_holes(Client& target, const std::string& key, const std::string& scratch,
                        Holes holes, size_t page, int64_t ttl_ms,
                        std::vector<StreamWriteError>& errors) {
  std::string start = "-";
  for (bool done = false; !done;) {
    auto r = target.execute(
        std::vector<Command>{{"XRANGE", key, start, "+", "COUNT", std::to_string(page)}});
    if (!r[0].is_array()) {
      errors.push_back({r[0].str, "XRANGE"});
      break;
    }
    done = r[0].elements.size() < page;
    if (!r[0].elements.empty()) start = next_stream_id(r[0].elements.back().elements[0].str);
    std::vector<Command> w;
    push_entries(w, scratch, r[0].elements, holes, done);
    if (w.empty()) continue;
    w.push_back({"PEXPIRE", scratch, std::to_string(ttl_ms)});
    if (!sent(target, w, errors)) break;
  }
  if (errors.empty()) sent(target, std::vector<Command>{{"RENAME", scratch, key}}, errors);
  // The caller deletes `key`; `scratch` is not left behind either (its TTL
  // covers a lost connection).
  if (!errors.empty()) target.execute(std::vector<Command>{{"DEL", scratch}});
}

}  // namespace migcheck::copy_internal
