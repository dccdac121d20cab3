// SCAN cursors per node, RANDOMKEY sampling and the glob matcher used to
// filter samples the way MATCH filters SCAN.
#include "scanner.h"

#include <algorithm>
#include <cmath>

#include "errors.h"
#include "log.h"

namespace migcheck {

bool glob_match(std::string_view p, std::string_view s) {
  // Iterative with one backtrack point for '*', as stringmatchlen behaves.
  size_t pi = 0, si = 0;
  size_t star_p = std::string_view::npos, star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      char c = p[pi];
      if (c == '*') {
        while (pi < p.size() && p[pi] == '*') ++pi;
        if (pi == p.size()) return true;
        star_p = pi;
        star_s = si;
        continue;
      }
      if (c == '?') {
        ++pi;
        ++si;
        continue;
      }
      if (c == '[') {
        size_t q = pi + 1;
        bool negate = q < p.size() && p[q] == '^';
        if (negate) ++q;
        bool matched = false;
        while (q < p.size() && p[q] != ']') {
          if (p[q] == '\\' && q + 1 < p.size()) {
            if (p[q + 1] == s[si]) matched = true;
            q += 2;
          } else if (q + 2 < p.size() && p[q + 1] == '-' && p[q + 2] != ']') {
            unsigned char lo = static_cast<unsigned char>(p[q]),
                          hi = static_cast<unsigned char>(p[q + 2]);
            if (lo > hi) std::swap(lo, hi);
            unsigned char ch = static_cast<unsigned char>(s[si]);
            if (ch >= lo && ch <= hi) matched = true;
            q += 3;
          } else {
            if (p[q] == s[si]) matched = true;
            ++q;
          }
        }
        if (negate) matched = !matched;
        if (matched) {
          pi = q < p.size() ? q + 1 : q;
          ++si;
          continue;
        }
      } else {
        if (c == '\\' && pi + 1 < p.size()) c = p[++pi];
        if (c == s[si]) {
          ++pi;
          ++si;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

size_t RecentKeys::find(uint64_t h, std::string_view key) const {
  for (size_t p = h & mask_; table_[p] != 0; p = (p + 1) & mask_) {
    const size_t i = table_[p] - 1;
    if (hashes_[i] == h && ring_[i] == key) return p;
  }
  return std::string::npos;
}

// Backward-shift deletion: later entries of the probe run move up, so a
// lookup never stops early at the hole.
void RecentKeys::erase_at(size_t pos) {
  size_t hole = pos;
  for (size_t p = (pos + 1) & mask_; table_[p] != 0; p = (p + 1) & mask_) {
    const size_t home = hashes_[table_[p] - 1] & mask_;
    // The entry stays when its home lies cyclically in (hole, p].
    const bool stays = hole <= p ? (home > hole && home <= p) : (home > hole || home <= p);
    if (stays) continue;
    table_[hole] = table_[p];
    hole = p;
  }
  table_[hole] = 0;
}

bool RecentKeys::seen(const std::string& key) {
  if (capacity_ == 0) return false;
  if (table_.empty()) {
    size_t n = 16;
    while (n < 2 * capacity_) n *= 2;
    table_.assign(n, 0);
    mask_ = n - 1;
    ring_.reserve(std::min<size_t>(capacity_, 1 << 16));
  }
  const uint64_t h = std::hash<std::string_view>{}(key);
  if (find(h, key) != std::string::npos) return true;
  size_t idx;
  if (ring_.size() < capacity_) {
    idx = ring_.size();
    ring_.push_back(key);
    hashes_.push_back(h);
  } else {
    // Forget the oldest, then reuse its slot (and its string's buffer).
    idx = next_;
    next_ = (next_ + 1) % capacity_;
    erase_at(find(hashes_[idx], ring_[idx]));
    ring_[idx].assign(key);
    hashes_[idx] = h;
  }
  size_t p = h & mask_;
  while (table_[p] != 0) p = (p + 1) & mask_;
  table_[p] = static_cast<uint32_t>(idx + 1);
  return false;
}

// A shrink folds up to (old size / new size) buckets into one: even from 2^24
// to 2^12 buckets that is 4096 buckets, which COUNT 1000 covers in a few calls.
size_t recent_capacity(size_t count) {
  return std::max<size_t>(8 * count, 16384);
}

Scanner::Scanner(Client& client, ScanOptions opts) : client_(client), opts_(std::move(opts)) {
  opts_.count = std::max<size_t>(opts_.count, 1);
  if (opts_.slots && opts_.type.empty() && SlotScanner::supported(client_, opts_.partition)) {
    slots_ = std::make_unique<SlotScanner>(client_, opts_.match, opts_.count, opts_.limiter);
    if (opts_.partition.active())
      slots_->limit_to(opts_.partition.first_slot(), opts_.partition.end_slot());
    return;
  }
  add_scan_nodes();
}

// A cluster's nodes that serve no slot of the partition are not scanned.
void Scanner::add_scan_nodes() {
  std::vector<bool> serves(client_.nodes().size(), !client_.cluster() || !opts_.partition.active());
  if (client_.cluster() && opts_.partition.active())
    for (int s = opts_.partition.first_slot(); s < opts_.partition.end_slot(); ++s) {
      serves[client_.node_for_slot(s, true)] = true;
      serves[client_.node_for_slot(s, false)] = true;
    }
  for (size_t n : client_.scan_nodes()) {
    if (!serves[n]) continue;
    NodeCursor c;
    c.address = client_.nodes()[n].endpoint.address();
    cursors_.push_back(std::move(c));
    nodes_.push_back(n);
    recent_.emplace_back(recent_capacity(opts_.count));
  }
}

bool Scanner::done() const {
  if (slots_) return slots_->done();
  return std::all_of(cursors_.begin(), cursors_.end(), [](const NodeCursor& c) { return c.done; });
}

size_t Scanner::node_index(size_t c) {
  // The client's node list changes after a topology refresh: find the node
  // by address again when its index no longer points at it.
  const auto& nodes = client_.nodes();
  size_t n = nodes_[c];
  if (n < nodes.size() && nodes[n].endpoint.address() == cursors_[c].address) return n;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].endpoint.address() == cursors_[c].address) return nodes_[c] = i;
  throw ConnectionError("node " + cursors_[c].address + " of " + client_.display() +
                            " left the cluster during the scan; run again",
                        false);
}

bool Scanner::next(std::vector<std::string>& out) {
  if (slots_) {
    const bool more = slots_->next(out);
    keys_ = slots_->keys_seen();
    return more;
  }
  if (cursors_.empty() || done()) return false;
  while (cursors_[next_ % cursors_.size()].done) ++next_;
  const size_t c = next_++ % cursors_.size();
  NodeCursor& cur = cursors_[c];
  Command cmd{"SCAN", cur.cursor, "COUNT", std::to_string(opts_.count)};
  if (!opts_.match.empty()) {
    cmd.push_back("MATCH");
    cmd.push_back(opts_.match);
  }
  if (!opts_.type.empty()) {
    cmd.push_back("TYPE");
    cmd.push_back(opts_.type);
  }
  if (opts_.limiter) opts_.limiter->acquire(1);
  Reply r = client_.on_node(node_index(c), cmd);
  if (r.is_error())
    throw ProtocolError("SCAN failed on " + cur.address + " of " + client_.display() + ": " +
                        r.str);
  if (!r.is_array() || r.elements.size() != 2 || !r.elements[1].is_array())
    throw ProtocolError("unexpected reply to SCAN from " + cur.address + ": " + r.summary());
  uint64_t n = 0;
  for (Reply& k : r.elements[1].elements) {
    if (recent_[c].seen(k.str)) {
      ++repeats_;
      continue;
    }
    if (!opts_.partition.contains_key(k.str)) {
      ++outside_;
      continue;
    }
    out.push_back(std::move(k.str));
    ++n;
  }
  cur.keys += n;
  keys_ += n;
  cur.cursor = std::move(r.elements[0].str);
  if (cur.cursor == "0") cur.done = true;
  return true;
}

void Scanner::restore(const std::vector<NodeCursor>& saved) {
  for (const NodeCursor& s : saved) {
    auto it = std::find_if(cursors_.begin(), cursors_.end(),
                           [&](const NodeCursor& c) { return c.address == s.address; });
    if (it == cursors_.end())
      throw UsageError("cannot resume: node " + s.address + " is no longer a scan node of " +
                       client_.display());
    *it = s;
  }
  keys_ = 0;
  for (const auto& c : cursors_) keys_ += c.keys;
}

void Scanner::restore_position(const nlohmann::json& j) {
  if (SlotScanner::is_position(j)) {
    if (!slots_)
      throw UsageError("cannot resume: the run enumerated " + client_.display() +
                       " slot by slot, which its nodes no longer allow");
    slots_->restore(j);
    keys_ = slots_->keys_seen();
    return;
  }
  if (!j.is_array()) return;
  if (slots_) {
    // A checkpoint of SCAN cursors: continue that way.
    slots_.reset();
    add_scan_nodes();
  }
  restore(cursors_from_json(j));
}

nlohmann::json Scanner::cursors_json() const {
  if (slots_) return slots_->position();
  nlohmann::json j = nlohmann::json::array();
  for (const auto& c : cursors_)
    j.push_back({{"address", c.address}, {"cursor", c.cursor}, {"done", c.done}, {"keys", c.keys}});
  return j;
}

std::vector<NodeCursor> Scanner::cursors_from_json(const nlohmann::json& j) {
  std::vector<NodeCursor> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    NodeCursor c;
    c.address = e.value("address", "");
    c.cursor = e.value("cursor", "0");
    c.done = e.value("done", false);
    c.keys = e.value("keys", uint64_t{0});
    out.push_back(std::move(c));
  }
  return out;
}

Sampler::Sampler(Client& client, SampleOptions opts) : client_(client), opts_(std::move(opts)) {
  std::vector<std::pair<size_t, uint64_t>> sizes;
  uint64_t total = 0;
  for (size_t n : client_.scan_nodes()) {
    Reply r = client_.on_node(n, {"DBSIZE"});
    uint64_t k = r.is_integer() && r.integer > 0 ? static_cast<uint64_t>(r.integer) : 0;
    sizes.emplace_back(n, k);
    total += k;
  }
  uint64_t assigned = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    NodeQuota q;
    q.node = sizes[i].first;
    if (total > 0) {
      q.quota = i + 1 == sizes.size()
                    ? opts_.keys - std::min(assigned, opts_.keys)
                    : static_cast<uint64_t>(std::llround(static_cast<double>(opts_.keys) *
                                                         static_cast<double>(sizes[i].second) /
                                                         static_cast<double>(total)));
      q.quota = std::min(q.quota, sizes[i].second);
    }
    assigned += q.quota;
    q.done = q.quota == 0;
    nodes_.push_back(q);
  }
}

bool Sampler::next(std::vector<std::string>& out) {
  if (std::all_of(nodes_.begin(), nodes_.end(), [](const NodeQuota& q) { return q.done; }))
    return false;
  while (nodes_[next_ % nodes_.size()].done) ++next_;
  NodeQuota& q = nodes_[next_++ % nodes_.size()];
  const uint64_t left = q.quota - q.got;
  const size_t draws = static_cast<size_t>(std::min<uint64_t>(1000, left + left / 4 + 8));
  std::vector<Command> cmds(draws, Command{"RANDOMKEY"});
  if (opts_.limiter) opts_.limiter->acquire(draws);
  std::vector<Reply> replies;
  try {
    replies = client_.connection(q.node).pipeline(cmds);
  } catch (const ConnectionError& e) {
    if (!e.retryable) throw;
    // One command through on_node reconnects (with the client's retry
    // policy); the next call pipelines on the new connection.
    replies.push_back(client_.on_node(q.node, {"RANDOMKEY"}));
  }
  q.draws += replies.size();
  draws_ += replies.size();
  for (Reply& r : replies) {
    if (r.is_error())
      throw ProtocolError("RANDOMKEY failed on " + client_.nodes()[q.node].endpoint.display() +
                          ": " + r.str);
    if (!r.is_string() || q.got >= q.quota) continue;
    if (!opts_.match.empty() && !glob_match(opts_.match, r.str)) continue;
    if (!seen_.insert(r.str).second) continue;
    out.push_back(std::move(r.str));
    ++q.got;
    ++sampled_;
  }
  // Enough, or the node keeps answering keys we have (a keyspace about the
  // size of the quota, or a MATCH few keys pass): stop drawing from it.
  if (q.got >= q.quota || q.draws > 20 * q.quota + 1000) q.done = true;
  return true;
}

}  // namespace migcheck
