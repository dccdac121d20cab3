// The compare engine's workers: each thread keeps a client and readers per
// side and db pair, reads both sides of a batch at once (re-reading keys
// that changed while read), classifies each key into difference rows and
// hands the batch to the ordered commit. Target-scan batches only look for
// keys the source lacks.
#include <algorithm>
#include <span>

#include "compare_engine.h"
#include "field_expiry_check.h"
#include "log.h"

namespace migcheck::compare_internal {

ReaderOptions Engine::reader_options(bool source) {
  ReaderOptions r;
  r.chunk = std::max<size_t>(o_.chunk, 1);
  r.big_string = std::max<size_t>(o_.big_string, 1);
  r.stream_extended_meta = stream_ext_;
  if (source) {
    r.types = o_.types;
    r.limiter = &limiter_;
  }
  return r;
}

Endpoint Engine::endpoint(size_t pair, bool source) const {
  Endpoint ep = source ? o_.source : o_.target;
  ep.db = source ? pairs_[pair].source : pairs_[pair].target;
  return ep;
}

// The producers' client of one side for one db pair.
Client& Engine::main_client(size_t pair, bool source) {
  std::lock_guard lock(mains_mu_);
  auto& v = source ? src_mains_ : tgt_mains_;
  if (v.size() < pairs_.size()) v.resize(pairs_.size());
  if (!v[pair])
    v[pair] =
        std::make_unique<Client>(endpoint(pair, source), source ? source_client_ : target_client_);
  return *v[pair];
}

void Engine::ensure_worker(Worker& w, size_t pair) {
  if (w.src) return;
  w.src = std::make_unique<Client>(endpoint(pair, true), source_client_);
  w.tgt = std::make_unique<Client>(endpoint(pair, false), target_client_);
  w.src_reader = std::make_unique<KeyReader>(*w.src, reader_options(true));
  w.src_retry = std::make_unique<KeyReader>(*w.src, reader_options(true));
  w.src_exists = std::make_unique<KeyReader>(*w.src, reader_options(true));
  w.tgt_reader = std::make_unique<KeyReader>(*w.tgt, reader_options(false));
  w.tgt_retry = std::make_unique<KeyReader>(*w.tgt, reader_options(false));
  w.tgt_meta = std::make_unique<KeyReader>(*w.tgt, reader_options(false));
}

void Engine::work(size_t thread, int round) {
  while (auto item = queue_->pop()) {
    if (stopping()) break;
    // One worker (clients and readers) per thread and db pair.
    Worker& w = workers_[thread][item->pair];
    ensure_worker(w, item->pair);
    const int db = pairs_[item->pair].source;
    BatchResult r;
    r.pair = item->pair;
    r.round = round;
    w.diffs.clear();
    w.keys_by_type.clear();
    if (item->side == WorkItem::Side::Source) {
      r.keys = compare_batch(w, item->keys, round, db);
      int64_t found = 0;
      for (const KeyState* t : w.t_state) found += t->status == ReadStatus::Ok ? 1 : 0;
      pass_found_ += found;
      pass_done_ += static_cast<int64_t>(item->keys.size());
    } else
      r.target_keys = check_target_only(w, item->keys, round, db);
    r.diffs = std::move(w.diffs);
    w.diffs.clear();
    r.keys_by_type = std::move(w.keys_by_type);
    w.keys_by_type.clear();
    r.big_keys = std::move(w.big_keys);
    w.big_keys.clear();
    r.position = std::move(item->position);
    commit(item->side, item->seq, std::move(r));
  }
}

// Returns the keys checked (a type-filtered key is not).
int64_t Engine::compare_batch(Worker& w, const std::vector<std::string>& keys, int round, int db) {
  const size_t n = keys.size();
  read_together(*w.src_reader, keys, *w.tgt_reader, keys);
  auto src = w.src_reader->results();
  auto tgt = w.tgt_reader->results();
  w.s_state.resize(n);
  w.t_state.resize(n);
  w.held.clear();
  for (size_t i = 0; i < n; ++i) {
    w.s_state[i] = &src[i];
    w.t_state[i] = &tgt[i];
  }
  // A key that changed while read is read again at once (twice at most):
  // most churn settles within milliseconds, and a difference that is only
  // churn should not need a whole round to drop out.
  for (int attempt = 0; attempt < 2; ++attempt) {
    w.retry_idx.clear();
    for (size_t i = 0; i < n; ++i)
      if (w.s_state[i]->status == ReadStatus::Unstable ||
          w.t_state[i]->status == ReadStatus::Unstable)
        w.retry_idx.push_back(i);
    if (w.retry_idx.empty()) break;
    w.retry_keys.clear();
    for (size_t i : w.retry_idx) w.retry_keys.push_back(keys[i]);
    read_together(*w.src_retry, w.retry_keys, *w.tgt_retry, w.retry_keys);
    auto rs = w.src_retry->results();
    auto rt = w.tgt_retry->results();
    for (size_t j = 0; j < w.retry_idx.size(); ++j) {
      w.held.push_back(rs[j]);
      w.s_state[w.retry_idx[j]] = &w.held.back();
      w.held.push_back(rt[j]);
      w.t_state[w.retry_idx[j]] = &w.held.back();
    }
  }
  int64_t checked = 0;
  for (size_t i = 0; i < n; ++i) {
    const KeyState& s = *w.s_state[i];
    const KeyState& t = *w.t_state[i];
    if (s.status == ReadStatus::Filtered) continue;
    // With several --type filters SCAN cannot filter: a key only on the
    // target is in scope when the target's type is.
    if (!s.exists && !o_.types.empty() && t.exists &&
        std::find(o_.types.begin(), o_.types.end(), t.type_name) == o_.types.end())
      continue;
    ++checked;
    if (round == 1) {
      auto it = w.keys_by_type.find(s.type_name);
      if (it == w.keys_by_type.end()) it = w.keys_by_type.emplace(s.type_name, 0).first;
      ++it->second;
      if (s.chunked && s.exists) w.big_keys.push_back({keys[i], db, s.type_name, s.size});
    }
    const size_t rows = w.diffs.size();
    classify_key(keys[i], db, round, s, t, o_.ttl_tolerance, w.diffs);
    settle_field_expiry_rows(w.src_reader->client(), w.tgt_reader->client(), keys[i], s, t,
                             o_.ttl_tolerance, &limiter_, w.diffs, rows, o_.chunk);
    if (w.diffs.size() > rows) {
      LocateOptions locate = o_.locate;
      locate.limiter = &limiter_;  // --max-ops-per-sec covers its re-reads too
      locate_value_rows(w.src_reader->client(), w.tgt_reader->client(), keys[i], s, t, locate,
                        std::span(w.diffs).subspan(rows));
    }
  }
  return checked;
}

// Target-scan batch: EXISTS on the source; the absent ones are extra.
// Returns the number of target keys looked up.
int64_t Engine::check_target_only(Worker& w, const std::vector<std::string>& keys, int round,
                                  int db) {
  auto ex = w.src_exists->read(keys, ReadLevel::Exists);
  w.absent_keys.clear();
  for (size_t i = 0; i < keys.size(); ++i) {
    if (ex[i].status == ReadStatus::Absent)
      w.absent_keys.push_back(keys[i]);
    else if (ex[i].status == ReadStatus::Error)
      log::debug("cannot check source existence of a target key: " + ex[i].detail);
  }
  if (w.absent_keys.empty()) return static_cast<int64_t>(keys.size());
  auto meta = w.tgt_meta->read(w.absent_keys, ReadLevel::Meta);
  KeyState none;
  for (size_t i = 0; i < w.absent_keys.size(); ++i) {
    const KeyState& t = meta[i];
    if (!t.exists) continue;
    if (!o_.types.empty() &&
        std::find(o_.types.begin(), o_.types.end(), t.type_name) == o_.types.end())
      continue;
    classify_key(w.absent_keys[i], db, round, none, t, o_.ttl_tolerance, w.diffs);
  }
  return static_cast<int64_t>(keys.size());
}

}  // namespace migcheck::compare_internal
