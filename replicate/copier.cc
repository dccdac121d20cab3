// The copy engine: probe (MEMORY USAGE [+ TYPE]) -> read (expiry + DUMP, or
// expiry + the whole value by type) -> write (RESTORE, or by type into a
// temporary key + RENAME), one stage per batch, all three stages of different
// batches in one round trip per step. Big values leave the pipeline and are
// copied in chunks, one key at a time, reads of chunk n+1 overlapping the
// writes of chunk n.
#include "copier.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <deque>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <unordered_map>

#include "errors.h"
#include "hash_field_ttl.h"
#include "log.h"
#include "slot.h"
#include "wall_clock.h"

namespace migcheck {
namespace {

// Temporary keys carry this TTL while they are built, so a value abandoned by
// a crash or a lost connection vanishes on its own.
constexpr int64_t kTempTtlMs = 60 * 60 * 1000;
constexpr std::string_view kTempGroup = "migcheck:tmp";

bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

bool icontains(std::string_view hay, std::string_view needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

// A command refused by configuration or ACL rather than failing on this key.
bool is_refusal(const Reply& r) {
  if (!r.is_error()) return false;
  return r.error_code() == "NOPERM" || icontains(r.str, "unknown command") ||
         icontains(r.str, "unknown subcommand");
}

// Tags that hash to each slot, found once; only keys that have no usable tag
// of their own need them.
const std::array<std::string, kSlots>& slot_tags() {
  static const std::array<std::string, kSlots> table = [] {
    std::array<std::string, kSlots> t;
    size_t left = kSlots;
    char buf[24];
    for (uint64_t n = 0; left > 0; ++n) {
      int len = std::snprintf(buf, sizeof buf, "t%llx", static_cast<unsigned long long>(n));
      std::string_view s(buf, static_cast<size_t>(len));
      auto slot = static_cast<size_t>(crc16_xmodem(s) & (kSlots - 1));
      if (t[slot].empty()) {
        t[slot] = std::string(s);
        --left;
      }
    }
    return t;
  }();
  return table;
}

struct StreamId {
  uint64_t ms = 0, seq = 0;
  auto operator<=>(const StreamId&) const = default;
};

StreamId parse_stream_id(std::string_view id) {
  StreamId r;
  auto dash = id.find('-');
  std::from_chars(id.data(), id.data() + (dash == std::string_view::npos ? id.size() : dash), r.ms);
  if (dash != std::string_view::npos)
    std::from_chars(id.data() + dash + 1, id.data() + id.size(), r.seq);
  return r;
}

std::string to_string(StreamId id) {
  return std::to_string(id.ms) + "-" + std::to_string(id.seq);
}

// The smallest id after `id` (XRANGE/XPENDING paging without the exclusive
// "(" syntax, which servers before 6.2 lack).
std::string next_stream_id(std::string_view id) {
  StreamId r = parse_stream_id(id);
  if (r.seq == UINT64_MAX) return std::to_string(r.ms + 1) + "-0";
  return std::to_string(r.ms) + "-" + std::to_string(r.seq + 1);
}

std::optional<int64_t> int_field(const Reply& map, std::string_view name) {
  const Reply* r = find_field(map, name);
  if (!r) return std::nullopt;
  if (r->is_integer()) return r->integer;
  if (r->is_string() && !r->str.empty()) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(r->str.data(), r->str.data() + r->str.size(), v);
    if (ec == std::errc()) return v;
  }
  return std::nullopt;
}

std::string str_field(const Reply& map, std::string_view name) {
  const Reply* r = find_field(map, name);
  return r && r->is_string() ? r->str : std::string();
}

// Appends `cmd tmp e1 e2 ...` commands holding at most max_elems elements
// (pairs count as 2) and about max_bytes each. swap_pairs turns ZRANGE's
// member,score into ZADD's score,member.
uint64_t push_chunked(std::vector<Command>& out, std::string_view cmd, const std::string& tmp,
                      std::vector<Reply>& elems, size_t group, size_t max_elems, uint64_t max_bytes,
                      bool swap_pairs = false) {
  uint64_t total = 0;
  size_t i = 0;
  max_elems = std::max(max_elems, group);
  while (i + group <= elems.size()) {
    Command c;
    c.reserve(2 + std::min(max_elems, elems.size() - i));
    c.emplace_back(cmd);
    c.push_back(tmp);
    uint64_t bytes = 0;
    size_t n = 0;
    while (i + group <= elems.size() && n < max_elems && (n == 0 || bytes < max_bytes)) {
      if (swap_pairs) {
        c.push_back(std::move(elems[i + 1].str));
        c.push_back(std::move(elems[i].str));
      } else {
        for (size_t g = 0; g < group; ++g) c.push_back(std::move(elems[i + g].str));
      }
      for (size_t g = 0; g < group; ++g) bytes += c[c.size() - 1 - g].size();
      i += group;
      n += group;
    }
    total += bytes;
    out.push_back(std::move(c));
  }
  return total;
}

// Stream state other than entries, as XINFO reports it.
struct StreamGroup {
  std::string name, last_delivered;
  std::optional<int64_t> entries_read;
  std::vector<std::string> consumers;
};
struct StreamMeta {
  std::string last_id = "0-0";
  std::optional<int64_t> entries_added;
  std::string max_deleted;  // empty before Redis 7.0
  std::vector<StreamGroup> groups;
};
struct PelEntry {
  std::string id, consumer;
  int64_t time_ms = 0;
  int64_t count = 0;
};

void read_stream_top(const Reply& info, StreamMeta& m) {
  m.last_id = str_field(info, "last-generated-id");
  if (m.last_id.empty()) m.last_id = "0-0";
  m.entries_added = int_field(info, "entries-added");
  m.max_deleted = str_field(info, "max-deleted-entry-id");
}

std::optional<int64_t> entries_read_of(const Reply& group) {
  const Reply* r = find_field(group, "entries-read");
  if (!r || r->is_nil()) return std::nullopt;
  return int_field(group, "entries-read");
}

// Pending entries whose stream entry was deleted cannot be claimed: such
// ids get a placeholder entry, claimed, then deleted again (XSETID restores
// the counters afterwards). `holes` holds them in id order.
using Holes = std::set<StreamId>;

void push_hole(std::vector<Command>& out, const std::string& tmp, StreamId id) {
  out.push_back({"XADD", tmp, to_string(id), "migcheck", "placeholder"});
}

// XADD for each [id, [field, value...]] entry, holes merged in id order;
// `last` adds the holes after the last entry too.
uint64_t push_entries(std::vector<Command>& out, const std::string& tmp,
                      std::vector<Reply>& entries, Holes& holes, bool last) {
  uint64_t bytes = 0;
  for (Reply& e : entries) {
    if (!e.is_array() || e.elements.size() < 2 || !e.elements[1].is_array()) continue;
    const StreamId id = parse_stream_id(e.elements[0].str);
    while (!holes.empty() && *holes.begin() < id) {
      push_hole(out, tmp, *holes.begin());
      holes.erase(holes.begin());
    }
    Command c{"XADD", tmp, std::move(e.elements[0].str)};
    for (Reply& f : e.elements[1].elements) {
      bytes += f.str.size();
      c.push_back(std::move(f.str));
    }
    out.push_back(std::move(c));
  }
  if (last)
    for (StreamId id : holes) push_hole(out, tmp, id);
  return bytes;
}

// Creation (when no entry was added), then groups with their consumers.
void push_stream_groups(std::vector<Command>& out, const std::string& tmp, const StreamMeta& m,
                        bool had_entries) {
  if (!had_entries) {
    // An empty stream exists only through MKSTREAM.
    out.push_back({"XGROUP", "CREATE", tmp, std::string(kTempGroup), "0", "MKSTREAM"});
    out.push_back({"XGROUP", "DESTROY", tmp, std::string(kTempGroup)});
  }
  for (const auto& g : m.groups) {
    Command create{"XGROUP", "CREATE", tmp, g.name, g.last_delivered};
    if (g.entries_read)
      create.insert(create.end(), {"ENTRIESREAD", std::to_string(*g.entries_read)});
    out.push_back(std::move(create));
    for (const auto& c : g.consumers) out.push_back({"XGROUP", "CREATECONSUMER", tmp, g.name, c});
  }
}

// Last: placeholders out again, then the counters as the source has them.
void push_stream_end(std::vector<Command>& out, const std::string& tmp, const StreamMeta& m,
                     const std::vector<StreamId>& placeholders) {
  for (size_t i = 0; i < placeholders.size(); i += 1000) {
    Command del{"XDEL", tmp};
    for (size_t j = i; j < std::min(placeholders.size(), i + 1000); ++j)
      del.push_back(to_string(placeholders[j]));
    out.push_back(std::move(del));
  }
  Command setid{"XSETID", tmp, m.last_id};
  if (m.entries_added && !m.max_deleted.empty()) {
    setid.insert(setid.end(),
                 {"ENTRIESADDED", std::to_string(*m.entries_added), "MAXDELETEDID", m.max_deleted});
  }
  out.push_back(std::move(setid));
}

void push_pel(std::vector<Command>& out, const std::string& tmp, const std::string& group,
              const std::vector<PelEntry>& pel) {
  for (const auto& p : pel)
    out.push_back({"XCLAIM", tmp, group, p.consumer, "0", p.id, "TIME", std::to_string(p.time_ms),
                   "RETRYCOUNT", std::to_string(p.count), "FORCE", "JUSTID"});
}

bool known_type(std::string_view t) {
  return t == "string" || t == "list" || t == "hash" || t == "set" || t == "zset" || t == "stream";
}

}  // namespace

CopyCounters& CopyCounters::operator+=(const CopyCounters& o) {
  keys += o.keys;
  copied += o.copied;
  restored += o.restored;
  fallbacks += o.fallbacks;
  chunked += o.chunked;
  deleted += o.deleted;
  skipped += o.skipped;
  filtered += o.filtered;
  failed += o.failed;
  planned += o.planned;
  bytes += o.bytes;
  return *this;
}

CopyCounters& CopyCounters::operator-=(const CopyCounters& o) {
  keys -= o.keys;
  copied -= o.copied;
  restored -= o.restored;
  fallbacks -= o.fallbacks;
  chunked -= o.chunked;
  deleted -= o.deleted;
  skipped -= o.skipped;
  filtered -= o.filtered;
  failed -= o.failed;
  planned -= o.planned;
  bytes -= o.bytes;
  return *this;
}

std::string temp_key_for(std::string_view key, std::string_view unique) {
  std::string_view tag = hash_tag(key);
  const bool own_tag = tag.size() != key.size();
  if (!own_tag) {
    // Hashed whole: "{key}" reproduces the slot only for a non-empty key
    // without '}'; long keys would make long temporary names for nothing.
    if (key.empty() || key.find('}') != std::string_view::npos || key.size() > 128)
      tag = slot_tags()[static_cast<size_t>(key_slot(key))];
  }
  std::string out;
  out.reserve(tag.size() + unique.size() + 16);
  out.push_back('{');
  out.append(tag);
  out.append("}migcheck:tmp:");
  out.append(unique);
  return out;
}

bool restore_error_wants_fallback(std::string_view e) {
  return contains(e, "payload version or checksum") || contains(e, "Bad data format") ||
         icontains(e, "unknown command") || (e.substr(0, 6) == "NOPERM" && icontains(e, "restore"));
}

// ---------------------------------------------------------------------------

struct Copier::Impl {
  struct Item {
    std::string key;
    SteadyTime queued{};
    int attempts = 0;
    bool by_type = false;       // this key goes by type (refused payload)
    bool probed_mem = false;    // MEMORY USAGE was in its probe
    bool probed_type = false;   // TYPE was in its probe
    bool read_by_type = false;  // its read stage fetched the value by type
    int64_t mem = -1;
    std::string type;
    std::string restore_error;  // why RESTORE refused it
  };
  enum class Kind { Restore, Delete, ByType };
  struct Write {
    Item item;
    Kind kind = Kind::Restore;
    size_t first = 0, count = 0;
    std::string tmp;
    uint64_t bytes = 0;
    std::string detail;
  };
  enum class Via { Restore, ByType, Chunked, Delete, None };
  struct Pipelined {
    bool again = false;
    SteadyTime again_queued{};
  };

  Impl(Client& s, Client& t, CopyOptions o, Sink k)
      : src(s), tgt(t), opts(std::move(o)), sink(std::move(k)) {
    if (!opts.shared) opts.shared = std::make_shared<CopyShared>();
    in_pipeline.reserve(4 * std::max<size_t>(opts.batch, 1));
    opts.batch = std::max<size_t>(opts.batch, 1);
    opts.chunk_elements = std::max<size_t>(opts.chunk_elements, 2);
    opts.chunk_bytes = std::max<uint64_t>(opts.chunk_bytes, 1024);
    std::random_device rd;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08x%08x:", rd(), rd());
    unique_prefix = buf;
    // PEXPIRETIME (7.0+) gives the expiry on the source's clock exactly;
    // older servers get PTTL plus the measured clock offset.
    auto nodes = src.scan_nodes();
    Reply r = src.on_node(nodes.empty() ? 0 : nodes.front(), {"COMMAND", "INFO", "PEXPIRETIME"});
    have_pexpiretime = r.is_array() && !r.elements.empty() && r.elements[0].is_array();
    src_field_expiry = supports_field_expiry(src, nodes.empty() ? 0 : nodes.front());
    auto tnodes = tgt.scan_nodes();
    tgt_field_expiry = supports_field_expiry(tgt, tnodes.empty() ? 0 : tnodes.front());
  }

  // Hash fields' expiries (Redis 7.4+ sources) go with a by-type copy of a
  // hash (whole, or the fields of one chunk): HPEXPIREAT commands on `tmp`
  // appended to `out`. A target without field expiration gets a failure
  // naming what would be lost, never a silent loss. Empty: fine; else
  // {error, detail} for the key's failed outcome. `whole` is false for one
  // chunk of a big hash: the count named is then a lower bound.
  std::optional<std::pair<std::string, std::string>> field_expiries(const std::string& key,
                                                                    const std::string& tmp,
                                                                    std::span<const Reply> pairs,
                                                                    std::vector<Command>& out,
                                                                    bool whole = true) {
    if (!src_field_expiry) return std::nullopt;
    std::vector<std::string_view> fields;
    for (size_t k = 0; k + 1 < pairs.size(); k += 2) fields.push_back(pairs[k].str);
    auto cmds = field_expiry_reads(key, fields, opts.chunk_elements);
    if (cmds.empty()) return std::nullopt;
    if (opts.limiter) opts.limiter->acquire(cmds.size());
    auto replies = src.execute(cmds);
    std::vector<FieldExpiry> fx;
    std::string err;
    if (!parse_field_expiries(replies, fields, opts.chunk_elements, fx, err))
      return std::make_pair(err, std::string("reading hash-field expiries on the source"));
    if (fx.empty()) return std::nullopt;
    if (!tgt_field_expiry)
      return std::make_pair(std::string(),
                            "not copied: " + std::string(whole ? "" : "at least ") +
                                std::to_string(fx.size()) +
                                " of its fields have an expiry (hash-field expiration), which "
                                "the target cannot hold (Redis 7.4+ only): copying would lose "
                                "them");
    // Field expiries are absolute on the source's clock, as PEXPIRETIME is:
    // moved only by a measured skew larger than its own error.
    const int64_t moved =
        clock_skew(src.clock(src.node_for_key(key)), tgt.clock(tgt.node_for_key(key))).usable_ms();
    push_field_expiries(out, tmp, fx, moved, opts.chunk_elements);
    return std::nullopt;
  }

  Client& src;
  Client& tgt;
  CopyOptions opts;
  Sink sink;
  CopyCounters counters;
  std::deque<Item> pending;         // to probe
  std::deque<Item> probed;          // to read
  std::vector<Command> write_cmds;  // built in this step, sent in the next
  std::vector<Write> writes;
  std::vector<CopyResult> results;
  std::vector<std::string> cleanup;  // temporary keys to delete on the target
  std::unordered_map<std::string, Pipelined> in_pipeline;
  bool have_pexpiretime = false;
  bool src_field_expiry = false;  // hash-field expiration (Redis 7.4+) on the source
  bool tgt_field_expiry = false;  // ... and on the target
  bool memory_refused = false;
  bool dump_refused = false;
  bool skew_warned = false;
  std::string unique_prefix;
  uint64_t unique_counter = 0;

  bool by_type(const Item& it) const {
    return opts.structural || it.by_type || dump_refused || opts.shared->restore_refused.load();
  }
  bool wants_type(const Item& it) const {
    return by_type(it) || !opts.types.empty() || memory_refused;
  }

  std::string new_temp(std::string_view key) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(++unique_counter));
    return temp_key_for(key, unique_prefix + buf);
  }

  Command ttl_cmd(const std::string& key) const {
    return {have_pexpiretime ? "PEXPIRETIME" : "PTTL", key};
  }

  // Source expiry reply -> -2 gone, -1 persistent, else absolute ms on the
  // target's clock. `t_local` is when the reply was (about to be) produced,
  // on this host's wall clock. PEXPIRETIME is on the source's clock: moved
  // by the measured skew, but only by one larger than its own error (a
  // shared clock is never shifted by measurement noise). PTTL is relative:
  // it becomes the target's time through the target's offset alone.
  int64_t target_expiry(const std::string& key, int64_t reply, int64_t t_local) {
    if (reply == -2 || reply == -1) return reply;
    const ClockReading t = tgt.clock(tgt.node_for_key(key));
    int64_t abs = 0, moved = 0;
    if (have_pexpiretime) {
      const ClockSkew skew = clock_skew(src.clock(src.node_for_key(key)), t);
      moved = skew.usable_ms();
      abs = reply + moved;
      if (moved != 0 && !skew_warned) {
        skew_warned = true;
        log::warn("target clock differs from the source's by " + std::to_string(skew.skew_ms) +
                  " ms (+/- " + std::to_string(skew.error_ms) +
                  " ms): expiries are written on the target's clock");
      }
    } else {
      abs = t_local + reply + t.usable_ms();
    }
    return std::max<int64_t>(abs, 1);
  }
  bool expired_on_target(const std::string& key, int64_t abs) {
    return abs > 0 && abs <= wall_ms() + tgt.clock_offset_ms(tgt.node_for_key(key));
  }

  // Hands a decided key back: result, counters, and a second pass when the
  // key changed while it was in the pipeline.
  void finish(Item& it, Via via, std::string_view outcome, std::string error, std::string detail,
              uint64_t bytes = 0, std::string type = {}) {
    CopyResult r;
    r.outcome.db = opts.db;
    r.outcome.key = it.key;
    r.outcome.action = via == Via::Restore  ? "restore"
                       : via == Via::Delete ? "delete"
                       : via == Via::None   ? "none"
                                            : "fallback";
    r.outcome.outcome = std::string(outcome);
    r.outcome.error = std::move(error);
    r.outcome.detail = std::move(detail);
    r.queued = it.queued;
    r.done = std::chrono::steady_clock::now();
    r.bytes = bytes;
    r.type = std::move(type);
    ++counters.keys;
    if (outcome == "copied") {
      counters.bytes += bytes;  // a write the target refused copied nothing
      ++counters.copied;
      if (via == Via::Restore) ++counters.restored;
      if (via == Via::ByType) ++counters.fallbacks;
      if (via == Via::Chunked) ++counters.chunked;
    } else if (outcome == "deleted") {
      ++counters.deleted;
    } else if (outcome == "skipped") {
      ++counters.skipped;
    } else if (outcome == "failed") {
      ++counters.failed;
    } else if (outcome == "planned") {
      ++counters.planned;
    }
    results.push_back(std::move(r));
    auto f = in_pipeline.find(it.key);
    if (f != in_pipeline.end()) {
      if (f->second.again) {
        Item again;
        again.key = std::move(it.key);
        again.queued = f->second.again_queued;
        f->second = Pipelined{};
        pending.push_back(std::move(again));
      } else {
        in_pipeline.erase(f);
      }
    }
  }

  void requeue(Item& it) {
    it.probed_mem = it.probed_type = false;
    it.mem = -1;
    it.type.clear();
    pending.push_front(std::move(it));
  }

  // A write of `it` lost its connection before the target answered: it may
  // or may not have been applied, and sending it again could apply it twice
  // (RPUSH, APPEND...). The key is copied again from the source, from scratch
  // and into a new temporary key, a bounded number of times.
  void redo_after_lost(Item& it, Via via, const std::string& error, uint64_t bytes) {
    if (++it.attempts < opts.max_attempts) {
      log::debug("the target connection was lost while writing a key: copying it again");
      requeue(it);
      return;
    }
    finish(it, via, "failed", error,
           "the target connection was lost while writing it, " + std::to_string(opts.max_attempts) +
               " times",
           bytes, it.type);
  }

  void add(std::string key, SteadyTime queued) {
    auto [f, inserted] = in_pipeline.try_emplace(key);
    if (!inserted) {
      if (!f->second.again || (queued != SteadyTime{} && queued < f->second.again_queued))
        f->second.again_queued = queued;
      f->second.again = true;
      return;
    }
    Item it;
    it.key = std::move(key);
    it.queued = queued;
    pending.push_back(std::move(it));
  }

  void schedule_delete(Item& it, std::string detail) {
    if (opts.dry_run) {
      finish(it, Via::Delete, "planned", {}, std::move(detail));
      return;
    }
    Write w;
    w.kind = Kind::Delete;
    w.first = write_cmds.size();
    w.count = 1;
    w.detail = std::move(detail);
    write_cmds.push_back({"DEL", it.key});
    w.item = std::move(it);
    writes.push_back(std::move(w));
  }

  void append_probe(std::vector<Command>& out, Item& it) {
    it.probed_mem = !memory_refused;
    it.probed_type = wants_type(it);
    if (it.probed_mem) out.push_back({"MEMORY", "USAGE", it.key});
    if (it.probed_type) out.push_back({"TYPE", it.key});
  }

  static Command read_cmd(const std::string& type, const std::string& key) {
    if (type == "string") return {"GET", key};
    if (type == "list") return {"LRANGE", key, "0", "-1"};
    if (type == "hash") return {"HGETALL", key};
    if (type == "set") return {"SMEMBERS", key};
    if (type == "zset") return {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    return {"XINFO", "STREAM", key, "FULL", "COUNT", "0"};
  }

  void step();
  void process_writes(std::vector<Write>& ws, std::vector<Reply>& tr);
  void process_reads(std::vector<Item>& items, std::vector<Reply>& sr, int64_t t_local);
  void process_probes(std::vector<Item>& items, std::vector<Reply>& sr, size_t base,
                      std::vector<Item>& big);
  void measure_by_length(std::vector<Item>& items);
  void build_by_type(Item& it, int64_t abs, Reply& value);
  void copy_big(Item& it);
  void deliver() {
    if (results.empty()) return;
    if (sink) sink(results);
    results.clear();
  }
};

void Copier::Impl::step() {
  std::vector<Command> scmds;
  std::vector<Item> reading, probing;
  uint64_t budget = 0;
  while (!probed.empty() && reading.size() < opts.batch) {
    Item& it = probed.front();
    const uint64_t m = it.mem > 0 ? static_cast<uint64_t>(it.mem) : 0;
    if (!reading.empty() && budget + m > opts.step_bytes) break;
    if (by_type(it) && it.type.empty()) {
      // Payloads got refused after this key was probed: learn its type first.
      Item moved = std::move(it);
      probed.pop_front();
      requeue(moved);
      continue;
    }
    if (by_type(it) && !known_type(it.type)) {
      Item moved = std::move(it);
      probed.pop_front();
      // Vector sets exist only on Redis 8+: say so rather than "module".
      finish(moved, Via::ByType, "failed", moved.restore_error,
             moved.type == "vectorset"
                 ? "vector set not copied: the target refused its DUMP payload and has no "
                   "vectorset type (Redis 8.0+ only)"
                 : "type '" + moved.type + "' (module) cannot be copied by type",
             0, moved.type);
      continue;
    }
    budget += m;
    it.read_by_type = by_type(it);
    scmds.push_back(ttl_cmd(it.key));
    scmds.push_back(by_type(it) ? read_cmd(it.type, it.key) : Command{"DUMP", it.key});
    reading.push_back(std::move(it));
    probed.pop_front();
  }
  const size_t reads_end = scmds.size();
  while (!pending.empty() && probing.size() < opts.batch) {
    append_probe(scmds, pending.front());
    probing.push_back(std::move(pending.front()));
    pending.pop_front();
  }
  std::vector<Command> tcmds;
  tcmds.swap(write_cmds);
  std::vector<Write> ws;
  ws.swap(writes);

  if (opts.limiter) opts.limiter->acquire(scmds.size());
  const int64_t t0 = wall_ms();
  if (!scmds.empty()) src.submit(scmds);
  if (!tcmds.empty()) tgt.submit(tcmds, Resend::Never);
  std::vector<Reply> sr, tr;
  if (!scmds.empty()) sr = src.collect();
  if (!tcmds.empty()) tr = tgt.collect();
  const int64_t t_local = (t0 + wall_ms()) / 2;

  // Order matters for fallbacks: refused writes go back to the front of the
  // queue before this step's probes are classified.
  process_writes(ws, tr);
  process_reads(reading, sr, t_local);
  std::vector<Item> big;
  process_probes(probing, sr, reads_end, big);
  for (Item& it : big) copy_big(it);
  if (!cleanup.empty()) {
    std::vector<Command> dels;
    for (auto& k : cleanup) dels.push_back({"DEL", std::move(k)});
    cleanup.clear();
    tgt.execute(dels);  // best effort: the temporary TTL covers failures
  }
  deliver();
}

void Copier::Impl::process_writes(std::vector<Write>& ws, std::vector<Reply>& tr) {
  for (Write& w : ws) {
    Item& it = w.item;
    switch (w.kind) {
      case Kind::Restore: {
        const Reply& r = tr[w.first];
        if (is_lost_reply(r)) {
          redo_after_lost(it, Via::Restore, r.str, w.bytes);
        } else if (!r.is_error()) {
          finish(it, Via::Restore, "copied", {}, {}, w.bytes);
        } else if (restore_error_wants_fallback(r.str)) {
          // One refused payload version means all of them: stop sending DUMP.
          if (!contains(r.str, "Bad data format")) {
            opts.shared->restore_refused = true;
            if (!opts.shared->announced.exchange(true))
              log::warn("the target refuses the source's DUMP payloads (" + r.str +
                        "); copying by type from now on");
          }
          it.by_type = true;
          it.restore_error = r.str;
          requeue(it);
        } else {
          finish(it, Via::Restore, "failed", r.str, {}, w.bytes);
        }
        break;
      }
      case Kind::Delete: {
        const Reply& r = tr[w.first];
        if (is_lost_reply(r)) {
          redo_after_lost(it, Via::Delete, r.str, 0);
        } else if (r.is_error()) {
          finish(it, Via::Delete, "failed", r.str, w.detail);
        } else {
          std::string detail = w.detail;
          if (r.integer == 0)
            detail += detail.empty() ? "absent on the target" : " (absent on the target)";
          finish(it, Via::Delete, "deleted", {}, std::move(detail), 0, "none");
        }
        break;
      }
      case Kind::ByType: {
        const Reply* err = nullptr;
        for (size_t i = 0; i < w.count && !err; ++i)
          if (tr[w.first + i].is_error()) err = &tr[w.first + i];
        if (err) cleanup.push_back(w.tmp);
        if (err && is_lost_reply(*err)) {
          redo_after_lost(it, Via::ByType, err->str, w.bytes);  // the temporary key is dropped
        } else if (err) {
          finish(it, Via::ByType, "failed", err->str, w.detail, w.bytes, it.type);
        } else {
          finish(it, Via::ByType, "copied", {}, w.detail, w.bytes, it.type);
        }
        break;
      }
    }
  }
}

void Copier::Impl::process_reads(std::vector<Item>& items, std::vector<Reply>& sr,
                                 int64_t t_local) {
  size_t i = 0;
  for (Item& it : items) {
    Reply& ttl = sr[i++];
    Reply& val = sr[i++];
    const bool typed = it.read_by_type;
    if (!typed && by_type(it)) {
      // Payloads were refused while this DUMP was on its way: go by type.
      requeue(it);
      continue;
    }
    if ((ttl.is_integer() && ttl.integer == -2) || (!typed && val.is_nil()) ||
        (val.is_error() && contains(val.str, "no such key"))) {
      schedule_delete(it, "gone from the source");
      continue;
    }
    if (ttl.is_error() || !ttl.is_integer()) {
      finish(it, typed ? Via::ByType : Via::Restore, "failed",
             ttl.is_error() ? ttl.str : ttl.summary(), "reading the expiry on the source");
      continue;
    }
    if (val.is_error()) {
      if (val.error_code() == "WRONGTYPE") {
        // Its type changed between probe and read.
        if (++it.attempts < opts.max_attempts) {
          requeue(it);
        } else {
          finish(it, Via::ByType, "failed", val.str, "the key kept changing type while copied");
        }
      } else if (!typed && is_refusal(val)) {
        if (!dump_refused) log::warn("the source refuses DUMP (" + val.str + "); copying by type");
        dump_refused = true;
        requeue(it);
      } else {
        finish(it, typed ? Via::ByType : Via::Restore, "failed", val.str, "reading the source");
      }
      continue;
    }
    const int64_t abs = target_expiry(it.key, ttl.integer, t_local);
    if (expired_on_target(it.key, abs)) {
      schedule_delete(it, "expired on the source");
      continue;
    }
    if (typed) {
      build_by_type(it, abs, val);
      continue;
    }
    Write w;
    w.kind = Kind::Restore;
    w.first = write_cmds.size();
    w.count = 1;
    w.bytes = val.str.size();
    Command c{"RESTORE", it.key, abs > 0 ? std::to_string(abs) : "0", std::move(val.str),
              "REPLACE"};
    if (abs > 0) c.emplace_back("ABSTTL");
    write_cmds.push_back(std::move(c));
    w.item = std::move(it);
    writes.push_back(std::move(w));
  }
}

void Copier::Impl::build_by_type(Item& it, int64_t abs, Reply& value) {
  const std::string& t = it.type;
  const size_t first = write_cmds.size();
  std::string tmp = new_temp(it.key);
  uint64_t bytes = 0;
  bool empty = false;
  if (t == "string") {
    if (!value.is_string()) {
      schedule_delete(it, "gone from the source");
      return;
    }
    bytes = value.str.size();
    write_cmds.push_back({"SET", tmp, std::move(value.str)});
  } else if (t == "stream") {
    if (!value.is_array()) {
      finish(it, Via::ByType, "failed", {},
             "unexpected reply reading the source: " + value.summary());
      return;
    }
    StreamMeta m;
    read_stream_top(value, m);
    Reply* entries = nullptr;
    for (size_t f = 0; f + 1 < value.elements.size(); f += 2)
      if (value.elements[f].str == "entries") entries = &value.elements[f + 1];
    std::vector<std::pair<std::string, std::vector<PelEntry>>> pels;
    if (const Reply* groups = find_field(value, "groups"); groups && groups->is_array()) {
      for (const Reply& g : groups->elements) {
        StreamGroup sg;
        sg.name = str_field(g, "name");
        sg.last_delivered = str_field(g, "last-delivered-id");
        sg.entries_read = entries_read_of(g);
        if (const Reply* cs = find_field(g, "consumers"); cs && cs->is_array())
          for (const Reply& c : cs->elements) sg.consumers.push_back(str_field(c, "name"));
        std::vector<PelEntry> pel;
        if (const Reply* p = find_field(g, "pending"); p && p->is_array())
          for (const Reply& e : p->elements)
            if (e.is_array() && e.elements.size() >= 4)
              pel.push_back({e.elements[0].str, e.elements[1].str, e.elements[2].integer,
                             e.elements[3].integer});
        pels.emplace_back(sg.name, std::move(pel));
        m.groups.push_back(std::move(sg));
      }
    }
    Holes holes;
    if (!pels.empty()) {
      std::set<StreamId> present;
      if (entries && entries->is_array())
        for (const Reply& e : entries->elements)
          if (e.is_array() && !e.elements.empty())
            present.insert(parse_stream_id(e.elements[0].str));
      for (const auto& [g, pel] : pels)
        for (const auto& p : pel)
          if (const StreamId id = parse_stream_id(p.id); !present.count(id)) holes.insert(id);
    }
    const std::vector<StreamId> placeholders(holes.begin(), holes.end());
    std::vector<Reply> none;
    bytes += push_entries(write_cmds, tmp,
                          entries && entries->is_array() ? entries->elements : none, holes, true);
    const bool had_entries = write_cmds.size() > first;
    push_stream_groups(write_cmds, tmp, m, had_entries);
    for (auto& [g, pel] : pels) push_pel(write_cmds, tmp, g, pel);
    push_stream_end(write_cmds, tmp, m, placeholders);
  } else {
    if (!value.is_array()) {
      finish(it, Via::ByType, "failed", {},
             "unexpected reply reading the source: " + value.summary());
      return;
    }
    auto& e = value.elements;
    empty = e.empty();
    if (t == "list")
      bytes = push_chunked(write_cmds, "RPUSH", tmp, e, 1, opts.chunk_elements, opts.chunk_bytes);
    else if (t == "hash") {
      // Before push_chunked, which moves the field names away.
      std::vector<Command> expiries;
      if (auto lost = field_expiries(it.key, tmp, e, expiries)) {
        finish(it, Via::ByType, "failed", lost->first, lost->second, 0, "hash");
        return;
      }
      bytes = push_chunked(write_cmds, "HSET", tmp, e, 2, opts.chunk_elements, opts.chunk_bytes);
      std::move(expiries.begin(), expiries.end(), std::back_inserter(write_cmds));
    } else if (t == "set")
      bytes = push_chunked(write_cmds, "SADD", tmp, e, 1, opts.chunk_elements, opts.chunk_bytes);
    else
      bytes =
          push_chunked(write_cmds, "ZADD", tmp, e, 2, opts.chunk_elements, opts.chunk_bytes, true);
  }
  if (empty) {
    // Collections are never empty: it was deleted between expiry and value reads.
    write_cmds.resize(first);
    schedule_delete(it, "gone from the source");
    return;
  }
  if (abs > 0) write_cmds.push_back({"PEXPIREAT", tmp, std::to_string(abs)});
  write_cmds.push_back({"RENAME", tmp, it.key});
  Write w;
  w.kind = Kind::ByType;
  w.first = first;
  w.count = write_cmds.size() - first;
  w.tmp = std::move(tmp);
  w.bytes = bytes;
  if (!it.restore_error.empty()) w.detail = "target refused the DUMP payload: " + it.restore_error;
  w.item = std::move(it);
  writes.push_back(std::move(w));
}

void Copier::Impl::process_probes(std::vector<Item>& items, std::vector<Reply>& sr, size_t base,
                                  std::vector<Item>& big) {
  size_t i = base;
  std::vector<Item> retry;
  std::vector<Item> unmeasured;
  for (Item& it : items) {
    const Reply* mem = it.probed_mem ? &sr[i++] : nullptr;
    const Reply* type = it.probed_type ? &sr[i++] : nullptr;
    if (mem && mem->is_error()) {
      if (is_refusal(*mem)) {
        if (!memory_refused) {
          log::warn(
              "the source refuses MEMORY USAGE (" + mem->str +
              "): big values are found by their length" +
              (opts.mem_limit ? std::string(" and --mem-limit cannot apply") : std::string()));
        }
        memory_refused = true;
        retry.push_back(std::move(it));
      } else {
        finish(it, Via::None, "failed", mem->str, "MEMORY USAGE on the source");
      }
      continue;
    }
    if (type && type->is_error()) {
      finish(it, Via::None, "failed", type->str, "TYPE on the source");
      continue;
    }
    if ((mem && mem->is_nil()) || (type && type->is_string() && type->str == "none")) {
      schedule_delete(it, "gone from the source");
      continue;
    }
    if (type) it.type = type->str;
    if (mem) it.mem = mem->integer;
    if (!opts.types.empty() &&
        std::find(opts.types.begin(), opts.types.end(), it.type) == opts.types.end()) {
      finish(it, Via::None, "skipped", {}, "type " + it.type + " not selected", 0, it.type);
      --counters.skipped;
      ++counters.filtered;
      continue;
    }
    if (opts.mem_limit && it.mem >= 0 && static_cast<uint64_t>(it.mem) > opts.mem_limit) {
      finish(it, Via::None, "skipped", {},
             "MEMORY USAGE " + std::to_string(it.mem) + " bytes is above --mem-limit " +
                 std::to_string(opts.mem_limit),
             0, it.type);
      continue;
    }
    if (!mem) {
      unmeasured.push_back(std::move(it));
      continue;
    }
    const bool is_big = it.mem >= 0 && static_cast<uint64_t>(it.mem) > opts.big_bytes;
    if (opts.dry_run) {
      finish(it, is_big || by_type(it) ? Via::ByType : Via::Restore, "planned", {},
             is_big ? "big value: would be copied in chunks" : "", 0, it.type);
      continue;
    }
    if (is_big)
      big.push_back(std::move(it));
    else
      probed.push_back(std::move(it));
  }
  if (!unmeasured.empty()) {
    measure_by_length(unmeasured);
    for (Item& it : unmeasured) {
      const bool is_big = static_cast<uint64_t>(it.mem) > opts.big_bytes;
      if (opts.dry_run) {
        finish(it, Via::ByType, "planned", {}, is_big ? "big value: would be copied in chunks" : "",
               0, it.type);
      } else if (is_big) {
        big.push_back(std::move(it));
      } else {
        probed.push_back(std::move(it));
      }
    }
  }
  for (auto r = retry.rbegin(); r != retry.rend(); ++r) requeue(*r);
}

// Without MEMORY USAGE: element counts (or string length) stand in for size.
void Copier::Impl::measure_by_length(std::vector<Item>& items) {
  std::vector<Command> cmds;
  for (const Item& it : items) {
    const std::string& t = it.type;
    cmds.push_back(t == "string" ? Command{"STRLEN", it.key}
                   : t == "list" ? Command{"LLEN", it.key}
                   : t == "hash" ? Command{"HLEN", it.key}
                   : t == "set"  ? Command{"SCARD", it.key}
                   : t == "zset" ? Command{"ZCARD", it.key}
                                 : Command{"XLEN", it.key});
  }
  auto replies = src.execute(cmds);
  for (size_t i = 0; i < items.size(); ++i) {
    const int64_t n = replies[i].is_integer() ? replies[i].integer : 0;
    // A collection over chunk_elements counts as big whatever its bytes.
    items[i].mem = items[i].type == "string" ? n
                   : n > static_cast<int64_t>(opts.chunk_elements)
                       ? static_cast<int64_t>(opts.big_bytes) + 1
                       : n * 64;
  }
}

void Copier::Impl::copy_big(Item& it) {
  const std::string& key = it.key;
  {
    auto r = src.execute(std::vector<Command>{{"TYPE", key}});
    if (r[0].is_error()) {
      finish(it, Via::Chunked, "failed", r[0].str, "TYPE on the source");
      return;
    }
    it.type = r[0].str;
  }
  const std::string type = it.type;
  if (type == "none") {
    schedule_delete(it, "gone from the source");
    return;
  }
  if (!known_type(type)) {
    finish(it, Via::Chunked, "failed", {},
           "type '" + type + "' (module) is too big to DUMP and cannot be copied by type", 0, type);
    return;
  }
  const std::string tmp = new_temp(key);
  const size_t n = opts.chunk_elements;
  // Streams: pending entries whose entry is gone need placeholders among the
  // entries, so find them first (XRANGE id id of each pending id, a page at a time).
  Holes holes;
  if (type == "stream") {
    auto gr = src.execute(std::vector<Command>{{"XINFO", "GROUPS", key}});
    if (gr[0].is_error()) {
      if (contains(gr[0].str, "no such key")) {
        schedule_delete(it, "gone from the source");
      } else {
        finish(it, Via::Chunked, "failed", gr[0].str, "reading stream groups on the source", 0,
               type);
      }
      return;
    }
    for (const Reply& g : gr[0].elements) {
      const std::string name = str_field(g, "name");
      std::string start = "-";
      for (;;) {
        auto pr = src.execute(
            std::vector<Command>{{"XPENDING", key, name, start, "+", std::to_string(n)}});
        if (!pr[0].is_array() || pr[0].elements.empty()) break;
        std::vector<Command> probes;
        for (const Reply& e : pr[0].elements)
          if (e.is_array() && !e.elements.empty())
            probes.push_back({"XRANGE", key, e.elements[0].str, e.elements[0].str});
        auto found = src.execute(probes);
        for (size_t i = 0; i < probes.size(); ++i)
          if (found[i].is_array() && found[i].elements.empty())
            holes.insert(parse_stream_id(probes[i][2]));
        if (pr[0].elements.size() < n) break;
        start = next_stream_id(pr[0].elements.back().elements[0].str);
      }
    }
  }
  const std::vector<StreamId> placeholders(holes.begin(), holes.end());
  uint64_t bytes = 0;
  int64_t offset = 0;
  std::string cursor = "0";
  std::string stream_next = "-";
  bool done = false, wrote = false;

  // Set when a chunk's hash fields have expiries the target cannot hold.
  std::optional<std::pair<std::string, std::string>> field_loss;
  auto next_read = [&]() -> Command {
    if (type == "string")
      return {"GETRANGE", key, std::to_string(offset),
              std::to_string(offset + static_cast<int64_t>(opts.chunk_bytes) - 1)};
    if (type == "list")
      return {"LRANGE", key, std::to_string(offset),
              std::to_string(offset + static_cast<int64_t>(n) - 1)};
    if (type == "hash") return {"HSCAN", key, cursor, "COUNT", std::to_string(n)};
    if (type == "set") return {"SSCAN", key, cursor, "COUNT", std::to_string(n)};
    if (type == "zset") return {"ZSCAN", key, cursor, "COUNT", std::to_string(n)};
    return {"XRANGE", key, stream_next, "+", "COUNT", std::to_string(n)};
  };
  // Turns one piece into writes; false when the reply is not what was asked.
  auto take = [&](Reply& r, std::vector<Command>& w) -> bool {
    if (type == "string") {
      if (!r.is_string()) return false;
      const size_t len = r.str.size();
      bytes += len;
      if (offset == 0)
        w.push_back({"SET", tmp, std::move(r.str)});
      else if (len)
        w.push_back({"APPEND", tmp, std::move(r.str)});
      offset += static_cast<int64_t>(len);
      done = len < opts.chunk_bytes;
      return true;
    }
    if (!r.is_array()) return false;
    if (type == "list") {
      const size_t got = r.elements.size();
      bytes += push_chunked(w, "RPUSH", tmp, r.elements, 1, n, opts.chunk_bytes);
      offset += static_cast<int64_t>(got);
      done = got < n;
      return true;
    }
    if (type == "stream") {
      const size_t got = r.elements.size();
      if (got)
        stream_next = next_stream_id(
            r.elements.back().elements.empty() ? "0-0" : r.elements.back().elements[0].str);
      done = got < n;
      bytes += push_entries(w, tmp, r.elements, holes, done);
      return true;
    }
    if (r.elements.size() != 2 || !r.elements[1].is_array()) return false;
    cursor = r.elements[0].str;
    auto& e = r.elements[1].elements;
    if (type == "hash") {
      std::vector<Command> expiries;  // before push_chunked moves the names away
      if ((field_loss = field_expiries(key, tmp, e, expiries, false))) return true;
      bytes += push_chunked(w, "HSET", tmp, e, 2, n, opts.chunk_bytes);
      std::move(expiries.begin(), expiries.end(), std::back_inserter(w));
    } else if (type == "set")
      bytes += push_chunked(w, "SADD", tmp, e, 1, n, opts.chunk_bytes);
    else
      bytes += push_chunked(w, "ZADD", tmp, e, 2, n, opts.chunk_bytes, true);
    done = cursor == "0";
    return true;
  };

  auto abandon = [&](std::string_view outcome, std::string error, std::string detail) {
    tgt.execute(std::vector<Command>{{"DEL", tmp}});
    finish(it, Via::Chunked, outcome, std::move(error), std::move(detail), bytes, type);
  };
  auto first_error = [](const std::vector<Reply>& rs) -> const Reply* {
    for (const auto& r : rs)
      if (r.is_error()) return &r;
    return nullptr;
  };
  // Whether target writes `tr` all succeeded; otherwise the copy is given
  // up (failed, with `detail`) or, when a connection was lost, redone
  // from scratch.
  auto written = [&](const std::vector<Reply>& tr, std::string detail) {
    const Reply* e = first_error(tr);
    if (!e) return true;
    if (is_lost_reply(*e)) {
      tgt.execute(std::vector<Command>{{"DEL", tmp}});
      redo_after_lost(it, Via::Chunked, e->str, bytes);
    } else {
      abandon("failed", e->str, std::move(detail));
    }
    return false;
  };

  // Reads of piece k+1 overlap the writes of piece k.
  std::vector<Command> w_now;
  for (;;) {
    std::vector<Command> read;
    if (!done) read.push_back(next_read());
    if (opts.limiter) opts.limiter->acquire(read.size());
    if (read.empty() && w_now.empty()) break;
    if (!read.empty()) src.submit(read);
    if (!w_now.empty()) tgt.submit(w_now, Resend::Never);
    std::vector<Reply> sr, tr;
    if (!read.empty()) sr = src.collect();
    if (!w_now.empty()) tr = tgt.collect();
    if (!written(tr, "writing a chunk of a big value")) return;
    w_now.clear();
    if (read.empty()) continue;
    if (sr[0].is_error()) {
      if (sr[0].error_code() == "WRONGTYPE" && ++it.attempts < opts.max_attempts) {
        tgt.execute(std::vector<Command>{{"DEL", tmp}});
        requeue(it);
        return;
      }
      abandon("failed", sr[0].str, "reading a chunk of a big value on the source");
      return;
    }
    if (!take(sr[0], w_now)) {
      abandon("failed", {}, "unexpected reply reading a big value: " + sr[0].summary());
      return;
    }
    if (field_loss) {
      abandon("failed", field_loss->first, field_loss->second);
      return;
    }
    if (!w_now.empty()) {
      wrote = true;
      w_now.push_back({"PEXPIRE", tmp, std::to_string(kTempTtlMs)});
    }
  }

  if (type == "stream") {
    // Metadata and groups after the entries, so last-generated-id covers them.
    auto info =
        src.execute(std::vector<Command>{{"XINFO", "STREAM", key}, {"XINFO", "GROUPS", key}});
    if (info[0].is_error() || info[1].is_error()) {
      const Reply& e = info[0].is_error() ? info[0] : info[1];
      if (contains(e.str, "no such key")) {
        tgt.execute(std::vector<Command>{{"DEL", tmp}});
        schedule_delete(it, "gone from the source");
        return;
      }
      abandon("failed", e.str, "reading stream metadata on the source");
      return;
    }
    StreamMeta m;
    read_stream_top(info[0], m);
    for (const Reply& g : info[1].elements) {
      StreamGroup sg;
      sg.name = str_field(g, "name");
      sg.last_delivered = str_field(g, "last-delivered-id");
      sg.entries_read = entries_read_of(g);
      m.groups.push_back(std::move(sg));
    }
    if (!m.groups.empty()) {
      std::vector<Command> cc;
      for (const auto& g : m.groups) cc.push_back({"XINFO", "CONSUMERS", key, g.name});
      auto cr = src.execute(cc);
      for (size_t g = 0; g < m.groups.size(); ++g)
        if (cr[g].is_array())
          for (const Reply& c : cr[g].elements)
            m.groups[g].consumers.push_back(str_field(c, "name"));
    }
    std::vector<Command> w;
    push_stream_groups(w, tmp, m, wrote);
    w.push_back({"PEXPIRE", tmp, std::to_string(kTempTtlMs)});
    if (!written(tgt.execute(w, Resend::Never), "writing stream groups")) return;
    wrote = true;
    // Pending entries page by page: XPENDING gives idle time, not delivery time.
    for (const auto& g : m.groups) {
      std::string start = "-";
      for (;;) {
        auto pr = src.execute(
            std::vector<Command>{{"XPENDING", key, g.name, start, "+", std::to_string(n)}});
        if (pr[0].is_error()) {
          abandon("failed", pr[0].str, "reading pending entries on the source");
          return;
        }
        const int64_t now_src = wall_ms() + src.clock_offset_ms(src.node_for_key(key));
        std::vector<PelEntry> pel;
        for (const Reply& e : pr[0].elements)
          if (e.is_array() && e.elements.size() >= 4)
            pel.push_back({e.elements[0].str, e.elements[1].str, now_src - e.elements[2].integer,
                           e.elements[3].integer});
        if (!pel.empty()) {
          std::vector<Command> pw;
          push_pel(pw, tmp, g.name, pel);
          if (!written(tgt.execute(pw, Resend::Never), "writing pending entries")) return;
          start = next_stream_id(pel.back().id);
        }
        if (pel.size() < n) break;
      }
    }
    std::vector<Command> end;
    push_stream_end(end, tmp, m, placeholders);
    if (!written(tgt.execute(end, Resend::Never), "setting the stream's last id and counters"))
      return;
  }

  // The expiry as it is now, after the copy.
  auto fin = src.execute(std::vector<Command>{ttl_cmd(key), {"TYPE", key}});
  const int64_t t_local = wall_ms();
  if ((fin[1].is_string() && fin[1].str == "none") ||
      (fin[0].is_integer() && fin[0].integer == -2) || !wrote) {
    tgt.execute(std::vector<Command>{{"DEL", tmp}});
    schedule_delete(it, "gone from the source");
    return;
  }
  if (fin[1].is_string() && fin[1].str != type) {
    tgt.execute(std::vector<Command>{{"DEL", tmp}});
    if (++it.attempts < opts.max_attempts)
      requeue(it);
    else
      finish(it, Via::Chunked, "failed", {}, "the key kept changing type while copied", bytes,
             type);
    return;
  }
  if (!fin[0].is_integer()) {
    abandon("failed", fin[0].is_error() ? fin[0].str : fin[0].summary(),
            "reading the expiry on the source");
    return;
  }
  const int64_t abs = target_expiry(key, fin[0].integer, t_local);
  if (expired_on_target(key, abs)) {
    tgt.execute(std::vector<Command>{{"DEL", tmp}});
    schedule_delete(it, "expired on the source");
    return;
  }
  std::vector<Command> w;
  if (abs > 0)
    w.push_back({"PEXPIREAT", tmp, std::to_string(abs)});
  else
    w.push_back({"PERSIST", tmp});
  w.push_back({"RENAME", tmp, key});
  if (!written(tgt.execute(w, Resend::Never), "moving the copied big value into place")) return;
  finish(it, Via::Chunked, "copied", {}, "big value copied in chunks", bytes, type);
}

// ---------------------------------------------------------------------------

Copier::Copier(Client& source, Client& target, CopyOptions opts, Sink sink)
    : impl_(std::make_unique<Impl>(source, target, std::move(opts), std::move(sink))) {}

Copier::~Copier() = default;

void Copier::add(std::span<const std::string> keys, SteadyTime queued) {
  for (const auto& k : keys) impl_->add(k, queued);
}

void Copier::add(std::string key, SteadyTime queued) {
  impl_->add(std::move(key), queued);
}

void Copier::step() {
  if (!idle()) impl_->step();
}

void Copier::drain() {
  while (!idle()) impl_->step();
}

bool Copier::idle() const {
  return impl_->pending.empty() && impl_->probed.empty() && impl_->writes.empty() &&
         impl_->write_cmds.empty();
}

size_t Copier::backlog() const {
  return impl_->in_pipeline.size();
}
size_t Copier::waiting() const {
  return impl_->pending.size();
}

std::vector<CopyResult> Copier::copy(std::span<const std::string> keys) {
  std::vector<CopyResult> out;
  Sink saved = std::move(impl_->sink);
  impl_->sink = [&](std::vector<CopyResult>& rs) {
    out.insert(out.end(), rs.begin(), rs.end());
    if (saved) saved(rs);
  };
  try {
    add(keys);
    drain();
  } catch (...) {
    impl_->sink = std::move(saved);
    throw;
  }
  impl_->sink = std::move(saved);
  return out;
}

const CopyCounters& Copier::counters() const {
  return impl_->counters;
}
const CopyOptions& Copier::options() const {
  return impl_->opts;
}

}  // namespace migcheck
