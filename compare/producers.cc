// The compare engine's producers: they cut the keys to check into batches
// for the workers, each batch stamped with its sequence number and, at the
// end of a producer step, the position a resumed round continues from.
// Round 1 scans (or samples) every db pair of both sides; later rounds
// re-check the keys that differed in the round before, read from the store.
#include <iterator>
#include <thread>

#include "compare_engine.h"
#include "digest.h"
#include "log.h"
#include "metrics.h"
#include "scanner.h"
#include "target_scan_skip.h"

namespace migcheck::compare_internal {

// Pushes full batches from `buf`; with `all`, the remainder too.
// The batch that empties `buf` carries `position`: everything the producer
// produced so far is then in batches.
bool Engine::push_batches(std::vector<std::string>& buf, WorkItem::Side side, bool all,
                          const std::function<nlohmann::json()>& position, size_t pair) {
  while (buf.size() >= batch_ || (all && !buf.empty())) {
    const size_t n = std::min(batch_, buf.size());
    WorkItem item;
    item.side = side;
    item.pair = pair;
    item.seq = streams_[side == WorkItem::Side::Source ? 0 : 1].next_seq++;
    item.keys.assign(std::make_move_iterator(buf.begin()),
                     std::make_move_iterator(buf.begin() + n));
    buf.erase(buf.begin(), buf.begin() + n);
    Metrics::get().keys_scanned(side == WorkItem::Side::Source ? "source" : "target",
                                static_cast<int64_t>(n));
    if (side == WorkItem::Side::Source) pass_pushed_ += static_cast<int64_t>(n);
    if (buf.empty()) item.position = position();
    if (!queue_->push(std::move(item))) return false;
  }
  return true;
}

// Every db pair in turn. The position is {"pair", "cursors"}: the pair
// being scanned and its SCAN cursors (a bare array: pair 0, older runs).
void Engine::produce_scan(WorkItem::Side side) {
  ScanOptions so;
  so.match = o_.match;
  if (o_.types.size() == 1) so.type = o_.types.front();
  so.count = scan_count_;
  so.limiter = side == WorkItem::Side::Source ? &limiter_ : nullptr;
  so.partition = o_.partition;
  std::atomic<int64_t>& outside = outside_[side == WorkItem::Side::Source ? 0 : 1];
  const nlohmann::json& saved = streams_[side == WorkItem::Side::Source ? 0 : 1].position;
  size_t first = 0;
  nlohmann::json cursors = saved;
  // {"pair", "cursors"}; a bare position (SCAN cursors, or the slots a
  // cluster's enumeration finished) is pair 0 of an older run.
  if (saved.is_object() && saved.contains("pair")) {
    first = saved.value("pair", size_t{0});
    cursors = saved.value("cursors", nlohmann::json());
  }
  for (size_t pair = first; pair < pairs_.size() && !stopping(); ++pair) {
    Scanner scanner(main_client(pair, side == WorkItem::Side::Source), so);
    if (pair == first && (cursors.is_array() || cursors.is_object()))
      scanner.restore_position(cursors);
    auto pos = [&] { return nlohmann::json{{"pair", pair}, {"cursors", scanner.cursors_json()}}; };
    std::vector<std::string> buf;
    // Batches are cut only at the end of a SCAN call (once a batch is full),
    // so the cursors after the call are a resume point for all of them.
    uint64_t counted = 0;  // of scanner.keys_outside()
    auto count_outside = [&] {
      outside += static_cast<int64_t>(scanner.keys_outside() - counted);
      counted = scanner.keys_outside();
    };
    while (!stopping() && scanner.next(buf)) {
      count_outside();
      if (buf.size() >= batch_ && !push_batches(buf, side, true, pos, pair)) return;
    }
    count_outside();
    if (!stopping() && !push_batches(buf, side, true, pos, pair)) return;
  }
}

// Round 1 of a fresh run: the source pass, then the target scan unless the
// source pass already answered it (target_scan_skip.h). One after the other
// costs no time: the workers are busy with the source batches meanwhile.
void Engine::produce_source_then_target() {
  std::optional<KeyspaceMark> src0, tgt0;
  if (pairs_.size() == 1 && o_.match.empty() && o_.types.empty() && !o_.partition.active() &&
      !source_client_.read_from_replica) {
    src0 = keyspace_mark(main_client(0, true));
    tgt0 = keyspace_mark(main_client(0, false));
  }
  produce_scan(WorkItem::Side::Source);
  if (src0 && tgt0) {
    // Every source batch read, so the keys found on the target are counted.
    while (!stopping() && pass_done_.load() < pass_pushed_.load())
      std::this_thread::sleep_for(Millis(2));
    if (stopping()) return;
    const auto src1 = keyspace_mark(main_client(0, true));
    const auto tgt1 = keyspace_mark(main_client(0, false));
    if (src1 && tgt1) {
      const std::string why =
          target_scan_needed(*src0, *src1, *tgt0, *tgt1, {pass_pushed_.load(), pass_found_.load()});
      if (why.empty()) {
        target_scan_settled_ = true;
        log::info("no target scan: neither server changed, and the target's " +
                  std::to_string(tgt1->dbsize) + " keys are all source keys");
        return;
      }
      log::debug("target scan: " + why);
    }
  }
  produce_scan(WorkItem::Side::Target);
}

// --sample draws that many keys from each db pair.
void Engine::produce_sample(WorkItem::Side side) {
  for (size_t pair = 0; pair < pairs_.size() && !stopping(); ++pair) {
    SampleOptions so;
    so.keys = sample_;
    so.match = o_.match;
    so.limiter = side == WorkItem::Side::Source ? &limiter_ : nullptr;
    Sampler sampler(main_client(pair, side == WorkItem::Side::Source), so);
    // A sample is random: a resumed run draws it again from the start.
    auto pos = [] { return nlohmann::json(); };
    std::vector<std::string> buf;
    while (!stopping() && sampler.next(buf)) {
      if (!push_batches(buf, side, true, pos, pair)) return;
    }
    if (!stopping()) push_batches(buf, side, true, pos, pair);
    if (side == WorkItem::Side::Source && sampler.sampled() < sample_)
      log::info("sampled " + std::to_string(sampler.sampled()) +
                " distinct keys (fewer than --sample " + std::to_string(sample_) +
                ": the keyspace or the matching part is small)");
  }
}

// Keys that differed in `prev_round`, each once, in the order they were
// stored. A key's rows (ttl and value) are stored together; SCAN returning
// a key twice (the table was resized meanwhile) or a key found by both
// scans makes rows apart, caught by a set of 64-bit key hashes: 16 bytes
// per differing key, and a false "seen" needs a 64-bit collision.
void Engine::produce_recheck(int prev_round) {
  IdSet seen;
  std::string prev;
  bool have_prev = false;
  std::vector<std::string> buf;
  bool ok = true;
  DifferenceFilter f;
  f.round = prev_round;
  // Resumed: rows up to the saved id were checked; they only fill `seen`.
  const nlohmann::json& saved = streams_[0].position;
  const int64_t skip_to = saved.is_number_integer() ? saved.get<int64_t>() : 0;
  int64_t last_id = skip_to;
  auto pos = [&] { return nlohmann::json(last_id); };
  size_t pair = 0;
  int prev_db = -1;
  store_.for_each_difference(result_.run_id, f, [&](const Difference& d) {
    if (!ok || stopping()) return;
    if (have_prev && d.key == prev && d.db == prev_db) return;
    prev = d.key;
    prev_db = d.db;
    have_prev = true;
    // The same name in two dbs is two keys.
    if (!seen.insert(element_id(d.key) + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(d.db)))
      return;
    if (d.id <= skip_to) return;
    const size_t p = pair_of(d.db);
    if (p >= pairs_.size()) return;  // not a db of this run
    // A batch holds keys of one db pair.
    if (p != pair && !buf.empty()) ok = push_batches(buf, WorkItem::Side::Source, true, pos, pair);
    pair = p;
    buf.push_back(d.key);
    last_id = d.id;
    if (ok) ok = push_batches(buf, WorkItem::Side::Source, false, pos, pair);
  });
  if (ok && !stopping()) push_batches(buf, WorkItem::Side::Source, true, pos, pair);
}

}  // namespace migcheck::compare_internal
