// Slot pages, their CLUSTER NODES brackets, split reads of migrating slots,
// and the slots-done position.
#include "slot_scanner.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <thread>
#include <unordered_set>

#include "errors.h"
#include "log.h"
#include "scanner.h"

namespace migcheck {

// One node's own view from CLUSTER NODES: who it is, the slots of the
// primary it serves (itself, or its primary for a replica) and, for a
// primary, the slots it is migrating away (slot -> importing node id).
struct SlotScanner::View {
  std::string self_id;
  std::string primary_id;  // the primary whose slots this node serves
  bool primary = false;
  std::bitset<kSlots> owned;
  std::map<int, std::string> migrating;
};

namespace {

int to_int(std::string_view s) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() ? v : -1;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(sep, b);
    if (e == std::string_view::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

// Slot fields of one CLUSTER NODES line (from the 9th field on).
void parse_slots(const std::vector<std::string_view>& f, std::bitset<kSlots>& owned,
                 std::map<int, std::string>* migrating) {
  for (size_t i = 8; i < f.size(); ++i) {
    std::string_view t = f[i];
    if (t.front() == '[') {
      // [slot->-importing_id] (migrating) or [slot-<-migrating_id] (importing)
      auto arrow = t.find("->-");
      if (arrow != std::string_view::npos && migrating) {
        int s = to_int(t.substr(1, arrow - 1));
        if (s >= 0 && s < kSlots)
          (*migrating)[s] = std::string(t.substr(arrow + 3, t.size() - arrow - 4));
      }
      continue;
    }
    auto dash = t.find('-');
    int lo = to_int(t.substr(0, dash));
    int hi = dash == std::string_view::npos ? lo : to_int(t.substr(dash + 1));
    for (int s = std::max(lo, 0); s <= std::min(hi, kSlots - 1) && lo >= 0; ++s) owned.set(s);
  }
}

}  // namespace

std::string slot_ranges(const std::bitset<kSlots>& s) {
  std::string out;
  for (int i = 0; i < kSlots;) {
    if (!s[i]) {
      ++i;
      continue;
    }
    int j = i;
    while (j + 1 < kSlots && s[j + 1]) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(i);
    if (j > i) out += '-' + std::to_string(j);
    i = j + 1;
  }
  return out;
}

std::bitset<kSlots> parse_slot_ranges(std::string_view text) {
  std::bitset<kSlots> out;
  for (std::string_view r : split(text, ',')) {
    auto dash = r.find('-');
    int lo = to_int(r.substr(0, dash));
    int hi = dash == std::string_view::npos ? lo : to_int(r.substr(dash + 1));
    if (lo < 0 || hi < lo || hi >= kSlots)
      throw UsageError("cannot resume: bad slot range '" + std::string(r) + "' in the checkpoint");
    for (int s = lo; s <= hi; ++s) out.set(s);
  }
  return out;
}

SlotScanner::SlotScanner(Client& client, std::string match, size_t page_keys, RateLimiter* limiter)
    : client_(client),
      match_(std::move(match)),
      page_keys_(std::max<size_t>(page_keys, 1)),
      limiter_(limiter),
      wait_(client.options().retry_for) {}

bool SlotScanner::supported(Client& client, const Partition& partition) {
  if (!client.cluster()) return false;
  // A pass that starts during a failover: the dead node is not waited for
  // here (the enumeration waits for its successor), the others answer.
  client.try_refresh_topology();
  bool asked = false;
  for (size_t n : client.scan_nodes()) {
    bool serves = !partition.active();
    for (int s = partition.first_slot(); s < partition.end_slot() && !serves; ++s)
      serves = client.node_for_slot(s, true) == n || client.node_for_slot(s, false) == n;
    if (!serves) continue;
    try {
      Connection& c = client.connection(n);
      Reply a = c.command({"CLUSTER", "GETKEYSINSLOT", "0", "0"});
      Reply b = c.command({"CLUSTER", "NODES"});
      if (a.is_error() && transient::is_transient(a.error_code())) continue;
      if (a.is_error() || !a.is_array() || b.is_error() || !b.is_string()) return false;
      asked = true;
    } catch (const ConnectionError&) {
    }
  }
  return asked;
}

bool SlotScanner::read_page(size_t node, const std::vector<int>& slots,
                            std::vector<std::vector<std::string>>& keys, View& pre, View& post) {
  std::vector<Command> cmds;
  cmds.reserve(slots.size() + 2);
  cmds.push_back({"CLUSTER", "NODES"});
  // No count cap: a page holds few slots when slots hold many keys.
  for (int s : slots) cmds.push_back({"CLUSTER", "GETKEYSINSLOT", std::to_string(s), "2147483647"});
  cmds.push_back({"CLUSTER", "NODES"});
  if (limiter_) limiter_->acquire(cmds.size());
  std::vector<Reply> replies = client_.connection(node).pipeline(cmds);
  const std::string endpoint = client_.nodes()[node].endpoint.display();
  for (const Reply& r : replies)
    if (r.is_error()) {
      if (transient::is_transient(r.error_code()) && wait_.more()) {
        wait_.pause(r.error_code(), endpoint);
        return false;
      }
      throw ProtocolError("enumerating the slots of " + endpoint + " failed: " + r.str);
    }
  parse_view(replies.front(), pre, endpoint);
  parse_view(replies.back(), post, endpoint);
  keys.assign(slots.size(), {});
  for (size_t i = 0; i < slots.size(); ++i) {
    Reply& r = replies[i + 1];
    if (!r.is_array())
      throw ProtocolError("unexpected reply to CLUSTER GETKEYSINSLOT from " + endpoint);
    keys[i].reserve(r.elements.size());
    for (Reply& k : r.elements) keys[i].push_back(std::move(k.str));
  }
  return true;
}

void SlotScanner::parse_view(const Reply& r, View& v, const std::string& endpoint) {
  {
    if (!r.is_string()) throw ProtocolError("unexpected reply to CLUSTER NODES from " + endpoint);
    std::map<std::string_view, std::vector<std::string_view>> lines;
    std::string_view self;
    for (std::string_view line : split(r.str, '\n')) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      auto f = split(line, ' ');
      if (f.size() < 8) continue;
      lines[f[0]] = f;
      if (f[2].find("myself") != std::string_view::npos) self = f[0];
    }
    if (self.empty()) throw ProtocolError("CLUSTER NODES of " + endpoint + " has no 'myself' line");
    const auto& me = lines[self];
    v.self_id = std::string(self);
    v.primary = me[2].find("master") != std::string_view::npos;
    if (v.primary) {
      v.primary_id = v.self_id;
      parse_slots(me, v.owned, &v.migrating);
    } else {
      v.primary_id = std::string(me[3]);
      auto it = lines.find(me[3]);
      if (it != lines.end()) parse_slots(it->second, v.owned, nullptr);
    }
  }
}

namespace {

int64_t info_int(const Reply& r, std::string_view field) {
  if (!r.is_string()) return -1;
  const std::string v = info_field(r.str, field);
  int64_t n = -1;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

}  // namespace

bool SlotScanner::replica_caught_up(size_t replica, size_t primary) {
  if (offsets_unknown_) return true;
  const Reply p = client_.connection(primary).command({"INFO", "replication"});
  const int64_t want = info_int(p, "master_repl_offset");
  if (want < 0) {
    offsets_unknown_ = true;
    log::warn("cannot read the replication offset of " +
              client_.nodes()[primary].endpoint.display() +
              " (INFO refused): --read-from replica reads may miss keys written just before "
              "them (replica lag)");
    return true;
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    const Reply r = client_.connection(replica).command({"INFO", "replication"});
    if (info_int(r, "slave_repl_offset") >= want) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void SlotScanner::limit_to(int first, int end) {
  for (int s = 0; s < kSlots; ++s)
    if (s < first || s >= end) mark_done(s);
  cursor_ = std::clamp(first, 0, kSlots - 1);
}

void SlotScanner::mark_done(int slot) {
  if (!done_[slot]) {
    done_.set(slot);
    ++done_count_;
  }
}

void SlotScanner::emit(int slot, std::vector<std::string>& keys, std::vector<std::string>& out) {
  for (std::string& k : keys) {
    if (!match_.empty() && !glob_match(match_, k)) continue;
    out.push_back(std::move(k));
    ++keys_;
  }
  mark_done(slot);
}

void SlotScanner::say_moves() {
  if (moves_said_) return;
  moves_said_ = true;
  std::string what;
  auto add = [&](uint64_t n, const char* text) {
    if (n) what += (what.empty() ? "" : ", ") + std::to_string(n) + text;
  };
  add(reread_, " slot read(s) again at a new owner");
  add(split_, " read on both nodes of a migration");
  add(to_primary_, " read on the primary instead of a replica");
  if (!what.empty()) log::info("slot-by-slot scan of " + client_.display() + ": " + what);
}

bool SlotScanner::next(std::vector<std::string>& out) {
  if (done()) {
    say_moves();
    return false;
  }
  int first = -1;
  for (int i = 0; i < kSlots && first < 0; ++i)
    if (!done_[(cursor_ + i) % kSlots]) first = (cursor_ + i) % kSlots;
  const size_t node = client_.node_for_slot(first, !primary_only_[first]);
  std::vector<int> slots;
  for (int i = 0; i < kSlots && slots.size() < page_slots_; ++i) {
    int s = (first + i) % kSlots;
    if (!done_[s] && client_.node_for_slot(s, !primary_only_[s]) == node) slots.push_back(s);
  }
  cursor_ = (slots.back() + 1) % kSlots;

  std::vector<std::vector<std::string>> keys;
  View pre, post, primary_view;
  const std::string endpoint = client_.nodes()[node].endpoint.display();
  // A replica read is exact only against its primary's own view: a replica
  // shows neither a migration in progress nor how far behind it is.
  const bool replica = client_.cluster() && !client_.nodes()[node].primary;
  std::optional<size_t> primary;
  if (replica) primary = client_.node_by_id(client_.nodes()[node].primary_id);
  size_t rerouted = 0;
  auto to_primary = [&](int s) {
    primary_only_.set(s);
    ++to_primary_;
    ++rerouted;
  };
  try {
    if (replica && primary && !replica_caught_up(node, *primary)) {
      for (int s : slots) to_primary(s);
      return true;
    }
    if (!read_page(node, slots, keys, pre, post)) return true;
    if (replica && primary) {
      // After the replica's reads (this node runs them after, in time).
      const Reply r = client_.connection(*primary).command({"CLUSTER", "NODES"});
      if (r.is_error())
        throw ProtocolError("CLUSTER NODES refused by " +
                            client_.nodes()[*primary].endpoint.display() + ": " + r.str);
      parse_view(r, primary_view, client_.nodes()[*primary].endpoint.display());
    }
  } catch (const ConnectionError& e) {
    if (!e.retryable) throw;
    // A node failing over: its slots are read at their new owner once the
    // cluster has promoted a replica (any node's view says who).
    if (!wait_.more())
      throw ConnectionError(
          "giving up on " + endpoint + " of " + client_.display() + ": " + e.what(), false);
    wait_.pause("UNREACHABLE", endpoint);
    client_.try_refresh_topology();
    return true;
  }

  size_t emitted_slots = 0, emitted_keys = 0;
  bool stale = false;
  for (size_t i = 0; i < slots.size(); ++i) {
    const int s = slots[i];
    const bool same_primary =
        pre.primary_id == post.primary_id && pre.primary == post.primary && !pre.primary_id.empty();
    if (!same_primary || !pre.owned[s] || !post.owned[s]) {
      stale = true;  // not (or no longer) this node's slot: read at its owner
      ++reread_;
      continue;
    }
    if (replica && (!primary || primary_view.self_id != post.primary_id || !primary_view.owned[s] ||
                    primary_view.migrating.count(s))) {
      // Being migrated (keys already moved are gone from the replica and
      // not yet counted anywhere), or the primary changed: read on the
      // primary, which sees the migration.
      stale = stale || !primary || primary_view.self_id != post.primary_id;
      to_primary(s);
      continue;
    }
    auto m1 = pre.migrating.find(s), m2 = post.migrating.find(s);
    if (m1 == pre.migrating.end() && m2 == post.migrating.end()) {
      emitted_keys += keys[i].size();
      emit(s, keys[i], out);
      ++emitted_slots;
      continue;
    }
    // Migrating: the keys not read here were moved to the importing node
    // before the read, so reading it now finds them.
    const std::string& target = m1 != pre.migrating.end() ? m1->second : m2->second;
    if (m1 != pre.migrating.end() && m2 != post.migrating.end() && m1->second != m2->second) {
      stale = true;
      ++reread_;
      continue;
    }
    auto tnode = client_.node_by_id(target);
    if (!tnode) {
      client_.try_refresh_topology();
      tnode = client_.node_by_id(target);
    }
    std::vector<std::vector<std::string>> tkeys;
    View tpre, tpost;
    bool ok = false;
    try {
      ok = tnode && read_page(*tnode, {s}, tkeys, tpre, tpost);
    } catch (const ConnectionError& e) {
      if (!e.retryable) throw;
    }
    // The importing node must not be moving the slot on (a second migration).
    if (!ok || tpre.migrating.count(s) || tpost.migrating.count(s)) {
      stale = true;
      ++reread_;
      continue;
    }
    std::unordered_set<std::string> have(keys[i].begin(), keys[i].end());
    for (std::string& k : tkeys[0])
      if (!have.count(k)) keys[i].push_back(std::move(k));
    ++split_;
    emitted_keys += keys[i].size();
    emit(s, keys[i], out);
    ++emitted_slots;
  }
  if (stale) client_.try_refresh_topology();
  if (emitted_slots == 0 && rerouted > 0) return true;  // read on the primary next
  if (emitted_slots == 0) {
    if (!wait_.more())
      throw ConnectionError("the slots of " + client_.display() + " kept changing owner for " +
                                format_duration(client_.options().retry_for),
                            false);
    wait_.pause("SLOTS MOVING", client_.display());
    return true;
  }
  wait_ = transient::Wait(client_.options().retry_for);
  // Adapt the page to about page_keys_ keys.
  const size_t avg = emitted_keys / emitted_slots;
  page_slots_ = avg == 0 ? std::min<size_t>(page_slots_ * 2, 1024)
                         : std::clamp<size_t>(page_keys_ / avg, 1, 1024);
  return true;
}

nlohmann::json SlotScanner::position() const {
  return {{"slots_done", slot_ranges(done_)}, {"keys", keys_}};
}

bool SlotScanner::is_position(const nlohmann::json& j) {
  return j.is_object() && j.contains("slots_done");
}

void SlotScanner::restore(const nlohmann::json& j) {
  if (!is_position(j) || !j["slots_done"].is_string())
    throw UsageError("cannot resume: the checkpoint has no slot position");
  done_ = parse_slot_ranges(j["slots_done"].get<std::string>());
  done_count_ = static_cast<int>(done_.count());
  keys_ = j.value("keys", uint64_t{0});
}

}  // namespace migcheck
