// The chunked copy of a big value, one key at a time: reads of piece n+1 on
// the source overlap the writes of piece n on the target, into a temporary
// key in the key's slot that a TempKey guard deletes unless the copy
// completes (RENAME into place); streams get their groups, pending entries
// and counters after the entries.
#include <iterator>

#include "copier_impl.h"
#include "log.h"
#include "noncopyable.h"

namespace migcheck {

using namespace copy_internal;

namespace {

// A temporary key being built on the target. Unless keep() is called (the
// value was renamed into place) it is deleted when the guard goes out of
// scope, whatever the reason the copy stopped: a failure, a key gone or
// changed on the source, a lost write (the key is then copied again from
// scratch into a new temporary key, never resumed: see redo_after_lost). On
// an exception nothing is sent: the connection may be what failed, and the
// temporary TTL (kTempTtlMs) removes the key on its own.
class TempKey : NonCopyable {
 public:
  TempKey(Client& target, std::string name)
      : target_(target), name_(std::move(name)), exceptions_(std::uncaught_exceptions()) {}
  ~TempKey() {
    if (kept_ || std::uncaught_exceptions() > exceptions_) return;
    try {
      target_.execute(std::vector<Command>{{"DEL", name_}});
    } catch (const std::exception& e) {
      // Best effort, as the pipeline's clean-ups: the TTL covers it.
      log::debug(std::string("cannot delete a temporary key on the target: ") + e.what());
    } catch (...) {
    }
  }

  const std::string& name() const { return name_; }
  void keep() { kept_ = true; }

 private:
  Client& target_;
  const std::string name_;
  const int exceptions_;
  bool kept_ = false;
};

}  // namespace

void Copier::Impl::copy_big(Item& it) {
  const std::string& key = it.key;
  {
    auto r = src.execute(std::vector<Command>{{"TYPE", key}});
    if (r[0].is_error()) {
      finish(it, Via::Chunked, Outcome::Result::Failed, r[0].str, "TYPE on the source");
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
    finish(it, Via::Chunked, Outcome::Result::Failed, {},
           "type '" + type + "' (module) is too big to DUMP and cannot be copied by type", 0, type);
    return;
  }
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
        finish(it, Via::Chunked, Outcome::Result::Failed, gr[0].str,
               "reading stream groups on the source", 0, type);
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
  // From here on the temporary key may exist on the target: the guard
  // deletes it on every way out but the RENAME that completes the copy.
  TempKey temp(tgt, new_temp(key));
  const std::string& tmp = temp.name();
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

  auto abandon = [&](std::string error, std::string detail) {
    finish(it, Via::Chunked, Outcome::Result::Failed, std::move(error), std::move(detail), bytes,
           type);
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
      redo_after_lost(it, Via::Chunked, e->str, bytes);
    } else {
      abandon(e->str, std::move(detail));
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
        requeue(it);
        return;
      }
      abandon(sr[0].str, "reading a chunk of a big value on the source");
      return;
    }
    if (!take(sr[0], w_now)) {
      abandon({}, "unexpected reply reading a big value: " + sr[0].summary());
      return;
    }
    if (field_loss) {
      abandon(field_loss->first, field_loss->second);
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
        schedule_delete(it, "gone from the source");
        return;
      }
      abandon(e.str, "reading stream metadata on the source");
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
          abandon(pr[0].str, "reading pending entries on the source");
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
    schedule_delete(it, "gone from the source");
    return;
  }
  if (fin[1].is_string() && fin[1].str != type) {
    if (++it.attempts < opts.max_attempts)
      requeue(it);
    else
      finish(it, Via::Chunked, Outcome::Result::Failed, {},
             "the key kept changing type while copied", bytes, type);
    return;
  }
  if (!fin[0].is_integer()) {
    abandon(fin[0].is_error() ? fin[0].str : fin[0].summary(), "reading the expiry on the source");
    return;
  }
  const int64_t abs = target_expiry(key, fin[0].integer, t_local);
  if (expired_on_target(key, abs)) {
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
  temp.keep();  // renamed into place: nothing left to delete
  finish(it, Via::Chunked, Outcome::Result::Copied, {}, "big value copied in chunks", bytes, type);
}

}  // namespace migcheck
