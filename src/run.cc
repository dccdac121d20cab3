// The run lifecycle every engine shares: see run.h.
#include "run.h"

#include "errors.h"
#include "exit_codes.h"
#include "log.h"
#include "resume.h"
#include "stop_token.h"

namespace migcheck {
RunServers RunServers::gather(Client& source, Client& target) {
  RunServers s;
  s.source = gather_facts(source);
  s.target = gather_facts(target);
  return s;
}

bool RunServers::stream_extended() const {
  return keeps_stream_counters(source) && keeps_stream_counters(target);
}

void RunServers::note_rdb_versions(bool structural) const {
  if (source.rdb_version && target.rdb_version && *source.rdb_version > *target.rdb_version &&
      !structural)
    log::info("the source writes RDB " + std::to_string(*source.rdb_version) +
              " payloads, the target reads up to RDB " + std::to_string(*target.rdb_version) +
              ": values will be written by type");
}

std::string describe_server(const ServerFacts& f) {
  std::string d = f.engine + " " + f.version + " " + f.mode;
  if (f.mode == "cluster") {
    int primaries = 0;
    for (const auto& n : f.nodes) primaries += n.role == "primary";
    d += " (" + std::to_string(primaries) + " primaries)";
  }
  return d;
}

Run::Run(Store& store, std::string command, const std::atomic<bool>* stop)
    : store_(store), command_(std::move(command)), stop_(stop) {
  restart_checkpoint_clock();
}

int64_t Run::begin(RunRecord rec) {
  rec.command = command_;
  id_ = store_.begin_run(std::move(rec));
  return id_;
}

int64_t Run::begin(const Endpoint& source, const Endpoint& target, const nlohmann::json& options,
                   int64_t parent) {
  RunRecord rec;
  if (parent > 0) rec.parent = parent;
  rec.source = source.display();
  rec.target = target.display();
  rec.options_json = options.dump();
  return begin(std::move(rec));
}

nlohmann::json Run::resume(int64_t id, bool check) {
  if (check)
    resumable_run(store_, id, command_);
  else
    store_.claim_run(id);
  nlohmann::json cp = load_checkpoint(store_, id, command_);
  id_ = id;
  checkpointed_ = true;
  watch_->load(cp.value("run_ids", nlohmann::json::object()));
  return cp;
}

void Run::reopened() {
  store_.reopen_run(id_);
}

ClientOptions Run::client_options(const ClientOptions& base) const {
  ClientOptions o = base;
  o.watch = watch_;
  return o;
}

int64_t Run::elapsed_ms() const {
  return elapsed_base_ + std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - t0_)
                             .count();
}

void Run::save_checkpoint(const nlohmann::json& j) {
  store_.put_checkpoint(id_, command_, j.dump());
  checkpointed_ = true;
  restart_checkpoint_clock();
}

bool Run::checkpoint_due() const {
  const std::chrono::steady_clock::time_point last{
      std::chrono::steady_clock::duration(last_checkpoint_.load())};
  return std::chrono::steady_clock::now() - last >= kCheckpointEvery;
}

void Run::restart_checkpoint_clock() {
  last_checkpoint_ = std::chrono::steady_clock::now().time_since_epoch().count();
}

bool Run::has_stored_checkpoint() {
  return store_.checkpoint(id_, command_).has_value();
}

void Run::record_servers(const RunServers& servers) {
  store_.set_server_info(id_, to_json(servers.source).dump(), to_json(servers.target).dump());
}

void Run::abort() {
  abort_ = true;
  stop_token::wake();
}

void Run::finish(std::string_view status, int exit_code, const nlohmann::json& totals) {
  store_.set_totals(id_, totals.dump());
  store_.finish_run(id_, status, exit_code);
}

void Run::end_abnormally(std::string_view status, const std::function<nlohmann::json()>& totals,
                         const std::function<bool()>& advise_resume) {
  try {
    const nlohmann::json t = totals();
    store_.set_totals(id_, t.dump());
    store_.finish_run(id_, status, kExitError);
    if (advise_resume && advise_resume()) warn_resumable(command_, id_);
  } catch (const std::exception& e) {
    log::warn(std::string("cannot record the end of the run: ") + e.what());
  }
}

}  // namespace migcheck
