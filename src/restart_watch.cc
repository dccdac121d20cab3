// RestartWatch: see restart_watch.h.
#include "restart_watch.h"

#include "errors.h"
#include "log.h"

namespace migcheck {

bool RestartWatch::observe(const std::string& address, const std::string& run_id) {
  std::lock_guard lock(mu_);
  if (run_id.empty()) {
    if (blind_.insert(address).second)
      log::warn("cannot tell whether " + address +
                " restarts during the run (INFO is refused): a restart there would go "
                "unnoticed, and SCAN cursors do not survive one");
    return false;
  }
  auto [it, inserted] = run_ids_.try_emplace(address, run_id);
  if (inserted || it->second == run_id) return false;
  it->second = run_id;
  ++restarts_;
  log::warn(address + " is a new server process (its run_id changed): it restarted or failed over");
  return true;
}

bool RestartWatch::failed_over(const std::string& old_id, const std::string& new_id) {
  std::lock_guard lock(mu_);
  if (!failovers_.emplace(old_id, new_id).second) return false;
  ++restarts_;
  log::warn("cluster node " + new_id + " took over the slots of " + old_id +
            " (a failover): writes the old primary acknowledged may be lost");
  return true;
}

void RestartWatch::start_over(int& starts_over, std::string_view what,
                              std::string_view consequence) {
  if (++starts_over > kMaxStartsOver)
    throw ConnectionError("servers restarted " + std::to_string(starts_over) + " times during " +
                              std::string(what) + "; run it again once they are stable",
                          false);
  log::warn("a server restarted during " + std::string(what) + ": " + std::string(consequence) +
            " (" + std::to_string(starts_over) + " of at most " + std::to_string(kMaxStartsOver) +
            ")");
  acknowledge();
}

nlohmann::json RestartWatch::to_json() const {
  std::lock_guard lock(mu_);
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [a, id] : run_ids_) j[a] = id;
  return j;
}

void RestartWatch::load(const nlohmann::json& saved) {
  if (!saved.is_object()) return;
  // As if those connections came first: the ones made already are compared.
  for (const auto& [a, id] : saved.items()) {
    if (!id.is_string() || id.get<std::string>().empty()) continue;
    std::string now;
    {
      std::lock_guard lock(mu_);
      auto it = run_ids_.find(a);
      if (it == run_ids_.end()) {
        run_ids_[a] = id.get<std::string>();
        continue;
      }
      now = it->second;
      it->second = id.get<std::string>();
    }
    observe(a, now);
  }
}

}  // namespace migcheck
