// Classification of transient error replies, the backoff of one wait, and
// the tally of episodes per (state, endpoint).
#include "transient.h"

#include <map>
#include <mutex>

#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "stop_token.h"

namespace migcheck::transient {
namespace {

// Waits of one state on one endpoint less than this apart are one episode.
constexpr auto kEpisodeGap = std::chrono::seconds(5);

struct Tally {
  std::mutex mu;
  std::map<std::string, uint64_t, std::less<>> episodes;  // by state
  std::map<std::pair<std::string, std::string>, std::chrono::steady_clock::time_point> last;
};

Tally& tally() {
  static Tally t;
  return t;
}

std::string explain(std::string_view state) {
  if (state == "LOADING") return "the server is loading its data set (a restart)";
  if (state == "BUSY") return "a script or function is running";
  if (state == "MASTERDOWN") return "the replica lost its primary";
  if (state == "TRYAGAIN") return "a slot is being migrated";
  if (state == "CLUSTERDOWN") return "the cluster is down or a slot is not served";
  if (state == "READONLY") return "a write reached a replica (failover?)";
  if (state == "NOREPLICAS") return "not enough replicas to accept writes";
  if (state == "UNREACHABLE") return "the node cannot be reached (failing over?)";
  if (state == "SLOTS MOVING") return "slots are changing owner (failover or resharding)";
  return "a transient state";
}

}  // namespace

bool is_transient(std::string_view code) {
  return code == "LOADING" || code == "BUSY" || code == "MASTERDOWN" || code == "TRYAGAIN" ||
         code == "CLUSTERDOWN";
}

bool is_wrong_primary(std::string_view code) {
  return code == "READONLY" || code == "NOREPLICAS";
}

bool Wait::more() const {
  if (!started()) return true;
  return std::chrono::steady_clock::now() - start_ < retry_for_;
}

void Wait::pause(std::string_view state, std::string_view endpoint) {
  if (!started()) {
    start_ = std::chrono::steady_clock::now();
    note(state, endpoint, retry_for_);
  }
  const Millis step = std::min<Millis>(Millis(1000), Millis(50L << std::min(step_++, 5)));
  const auto left =
      retry_for_ - std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start_);
  const Millis pause = std::max(Millis(0), std::min(step, left));
  Metrics::get().waited(state, static_cast<double>(pause.count()) / 1000);
  if (stop_token::wait_for(pause))
    throw Interrupted("interrupted while waiting for " + std::string(endpoint) + " (" +
                      std::string(state) + ")");
}

void note(std::string_view state, std::string_view endpoint, Millis retry_for) {
  Tally& t = tally();
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(t.mu);
    auto& last = t.last[{std::string(state), std::string(endpoint)}];
    const bool episode =
        last == std::chrono::steady_clock::time_point{} || now - last > kEpisodeGap;
    last = now;
    if (!episode) return;
    ++t.episodes[std::string(state)];
  }
  log::warn(std::string(endpoint) + ": " + std::string(state) + " (" + explain(state) +
            "); waiting (for up to " + format_duration(retry_for) + ")");
}

nlohmann::json totals_json() {
  Tally& t = tally();
  std::lock_guard lock(t.mu);
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [state, n] : t.episodes) j[state] = n;
  return j;
}

void reset() {
  Tally& t = tally();
  std::lock_guard lock(t.mu);
  t.episodes.clear();
  t.last.clear();
}

}  // namespace migcheck::transient
