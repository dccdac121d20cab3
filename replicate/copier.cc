// The copy engine's pipeline: probe (MEMORY USAGE [+ TYPE]) -> read (expiry +
// DUMP, or expiry + the whole value by type) -> write (RESTORE, or by type
// into a temporary key + RENAME), one stage per batch, all three stages of
// different batches in one round trip per step; per-key results and
// counters. Writing by type is in by_type_writer.cc; big values leave the
// pipeline for big_key_copy.cc.
#include "copier.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "copier_impl.h"
#include "counters.h"
#include "errors.h"
#include "hash_field_ttl.h"
#include "log.h"

namespace migcheck {

using namespace copy_internal;

bool copy_internal::is_refusal(const Reply& r) {
  if (!r.is_error()) return false;
  return r.error_code() == "NOPERM" || icontains(r.str, "unknown command") ||
         icontains(r.str, "unknown subcommand");
}

namespace {
constexpr std::tuple kCopyCounterFields{
    &CopyCounters::keys,      &CopyCounters::copied,   &CopyCounters::restored,
    &CopyCounters::fallbacks, &CopyCounters::chunked,  &CopyCounters::deleted,
    &CopyCounters::skipped,   &CopyCounters::filtered, &CopyCounters::failed,
    &CopyCounters::planned,   &CopyCounters::bytes};
}  // namespace

CopyCounters& CopyCounters::operator+=(const CopyCounters& o) {
  return add_fields(*this, o, kCopyCounterFields);
}

CopyCounters& CopyCounters::operator-=(const CopyCounters& o) {
  return subtract_fields(*this, o, kCopyCounterFields);
}

bool restore_error_wants_fallback(std::string_view e) {
  return contains(e, "payload version or checksum") || contains(e, "Bad data format") ||
         icontains(e, "unknown command") || (e.substr(0, 6) == "NOPERM" && icontains(e, "restore"));
}

Copier::Impl::Impl(Client& s, Client& t, CopyOptions o, Sink k)
    : src(s), tgt(t), opts(std::move(o)), sink(std::move(k)) {
  if (!opts.shared) opts.shared = std::make_shared<CopyShared>();
  in_pipeline.reserve(4 * std::max<size_t>(opts.batch, 1));
  opts.batch = std::max<size_t>(opts.batch, 1);
  opts.chunk_elements = std::max<size_t>(opts.chunk_elements, 2);
  opts.chunk_bytes = std::max<uint64_t>(opts.chunk_bytes, 1024);
  // PEXPIRETIME (7.0+) gives the expiry on the source's clock exactly;
  // older servers get PTTL plus the measured clock offset.
  auto nodes = src.scan_nodes();
  Reply r = src.on_node(nodes.empty() ? 0 : nodes.front(), {"COMMAND", "INFO", "PEXPIRETIME"});
  have_pexpiretime = r.is_array() && !r.elements.empty() && r.elements[0].is_array();
  src_field_expiry = supports_field_expiry(src, nodes.empty() ? 0 : nodes.front());
  auto tnodes = tgt.scan_nodes();
  tgt_field_expiry = supports_field_expiry(tgt, tnodes.empty() ? 0 : tnodes.front());
}

// Source expiry reply -> -2 gone, -1 persistent, else absolute ms on the
// target's clock. `t_local` is when the reply was (about to be) produced,
// on this host's wall clock. PEXPIRETIME is on the source's clock: moved
// by the measured skew, but only by one larger than its own error (a
// shared clock is never shifted by measurement noise). PTTL is relative:
// it becomes the target's time through the target's offset alone.
int64_t Copier::Impl::target_expiry(const std::string& key, int64_t reply, int64_t t_local) {
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
bool Copier::Impl::expired_on_target(const std::string& key, int64_t abs) {
  return abs > 0 && abs <= wall_ms() + tgt.clock_offset_ms(tgt.node_for_key(key));
}

// Hands a decided key back: result, counters, and a second pass when the
// key changed while it was in the pipeline.
void Copier::Impl::finish(Item& it, Via via, Outcome::Result outcome, std::string error,
                          std::string detail, uint64_t bytes, std::string type) {
  CopyResult r;
  r.outcome.db = opts.db;
  r.outcome.key = it.key;
  r.outcome.action = via == Via::Restore  ? Outcome::Action::Restore
                     : via == Via::Delete ? Outcome::Action::Delete
                     : via == Via::None   ? Outcome::Action::None
                                          : Outcome::Action::Fallback;
  r.outcome.outcome = outcome;
  r.outcome.error = std::move(error);
  r.outcome.detail = std::move(detail);
  r.queued = it.queued;
  r.done = std::chrono::steady_clock::now();
  r.bytes = bytes;
  r.type = std::move(type);
  ++counters.keys;
  if (outcome == Outcome::Result::Copied) {
    counters.bytes += bytes;  // a write the target refused copied nothing
    ++counters.copied;
    if (via == Via::Restore) ++counters.restored;
    if (via == Via::ByType) ++counters.fallbacks;
    if (via == Via::Chunked) ++counters.chunked;
  } else if (outcome == Outcome::Result::Deleted) {
    ++counters.deleted;
  } else if (outcome == Outcome::Result::Skipped) {
    ++counters.skipped;
  } else if (outcome == Outcome::Result::Failed) {
    ++counters.failed;
  } else if (outcome == Outcome::Result::Planned) {
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

// A write of `it` lost its connection before the target answered: it may
// or may not have been applied, and sending it again could apply it twice
// (RPUSH, APPEND...). The key is copied again from the source, from scratch
// and into a new temporary key, a bounded number of times.
void Copier::Impl::redo_after_lost(Item& it, Via via, const std::string& error, uint64_t bytes) {
  if (++it.attempts < opts.max_attempts) {
    log::debug("the target connection was lost while writing a key: copying it again");
    requeue(it);
    return;
  }
  finish(it, via, Outcome::Result::Failed, error,
         "the target connection was lost while writing it, " + std::to_string(opts.max_attempts) +
             " times",
         bytes, it.type);
}

void Copier::Impl::add(std::string key, SteadyTime queued) {
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

void Copier::Impl::schedule_delete(Item& it, std::string detail) {
  if (opts.dry_run) {
    finish(it, Via::Delete, Outcome::Result::Planned, {}, std::move(detail));
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

void Copier::Impl::append_probe(std::vector<Command>& out, Item& it) {
  it.probed_mem = !memory_refused;
  it.probed_type = wants_type(it);
  if (it.probed_mem) out.push_back({"MEMORY", "USAGE", it.key});
  if (it.probed_type) out.push_back({"TYPE", it.key});
}

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
      finish(moved, Via::ByType, Outcome::Result::Failed, moved.restore_error,
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
          finish(it, Via::Restore, Outcome::Result::Copied, {}, {}, w.bytes);
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
          finish(it, Via::Restore, Outcome::Result::Failed, r.str, {}, w.bytes);
        }
        break;
      }
      case Kind::Delete: {
        const Reply& r = tr[w.first];
        if (is_lost_reply(r)) {
          redo_after_lost(it, Via::Delete, r.str, 0);
        } else if (r.is_error()) {
          finish(it, Via::Delete, Outcome::Result::Failed, r.str, w.detail);
        } else {
          std::string detail = w.detail;
          if (r.integer == 0)
            detail += detail.empty() ? "absent on the target" : " (absent on the target)";
          finish(it, Via::Delete, Outcome::Result::Deleted, {}, std::move(detail), 0, "none");
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
          finish(it, Via::ByType, Outcome::Result::Failed, err->str, w.detail, w.bytes, it.type);
        } else {
          finish(it, Via::ByType, Outcome::Result::Copied, {}, w.detail, w.bytes, it.type);
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
      finish(it, typed ? Via::ByType : Via::Restore, Outcome::Result::Failed,
             ttl.is_error() ? ttl.str : ttl.summary(), "reading the expiry on the source");
      continue;
    }
    if (val.is_error()) {
      if (val.error_code() == "WRONGTYPE") {
        // Its type changed between probe and read.
        if (++it.attempts < opts.max_attempts) {
          requeue(it);
        } else {
          finish(it, Via::ByType, Outcome::Result::Failed, val.str,
                 "the key kept changing type while copied");
        }
      } else if (!typed && is_refusal(val)) {
        if (!dump_refused) log::warn("the source refuses DUMP (" + val.str + "); copying by type");
        dump_refused = true;
        requeue(it);
      } else {
        finish(it, typed ? Via::ByType : Via::Restore, Outcome::Result::Failed, val.str,
               "reading the source");
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
        finish(it, Via::None, Outcome::Result::Failed, mem->str, "MEMORY USAGE on the source");
      }
      continue;
    }
    if (type && type->is_error()) {
      finish(it, Via::None, Outcome::Result::Failed, type->str, "TYPE on the source");
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
      finish(it, Via::None, Outcome::Result::Skipped, {}, "type " + it.type + " not selected", 0,
             it.type);
      --counters.skipped;
      ++counters.filtered;
      continue;
    }
    if (opts.mem_limit && it.mem >= 0 && static_cast<uint64_t>(it.mem) > opts.mem_limit) {
      finish(it, Via::None, Outcome::Result::Skipped, {},
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
      finish(it, is_big || by_type(it) ? Via::ByType : Via::Restore, Outcome::Result::Planned, {},
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
        finish(it, Via::ByType, Outcome::Result::Planned, {},
               is_big ? "big value: would be copied in chunks" : "", 0, it.type);
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