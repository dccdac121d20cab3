// Metrics families on prometheus-cpp (Debian's prometheus-cpp-dev); its pull
// part embeds the HTTP server. Label values that come from a fixed set are
// looked up once; the rest (causes, kinds) through Family::Add, which is
// idempotent and only taken on rare events or per batch.
#include "metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>

#include "errors.h"

namespace migcheck {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer;

  // A family of `registry`, from its builder (BuildCounter() and so on).
  template <typename T>
  Family<T>& family(prometheus::detail::Builder<T> builder, const char* name, const char* help) {
    return builder.Name(name).Help(help).Register(*registry);
  }

  std::mutex mu;  // serve(), run_state(), round() and differences()
  std::string state_command, state_name;

  Family<Gauge>& run =
      family(BuildGauge(), "migcheck_run_state", "1 for the run's current command and state");
  Gauge& round = family(BuildGauge(), "migcheck_round", "the compare round in progress").Add({});
  Family<Counter>& scanned = family(BuildCounter(), "migcheck_keys_scanned_total",
                                    "keys enumerated by SCAN (or slot enumeration), by side");
  Counter& checked =
      family(BuildCounter(), "migcheck_keys_checked_total", "keys compared on both sides").Add({});
  Family<Counter>& copied_family = family(BuildCounter(), "migcheck_keys_written_total",
                                          "keys written to the target, by outcome");
  Counter& copied = copied_family.Add({{"outcome", "copied"}});
  Counter& failed = copied_family.Add({{"outcome", "failed"}});
  // A gauge: a later round re-checks the differences of the one before, so
  // a counter would add the same difference up once per round.
  Family<Gauge>& diffs = family(BuildGauge(), "migcheck_differences",
                                "differences found in the compare round in progress, by kind");
  std::map<std::string, Gauge*> diff_kinds;  // under mu
  Family<Counter>& events =
      family(BuildCounter(), "migcheck_events_total", "keyspace events, by what became of them");
  Gauge& queue =
      family(BuildGauge(), "migcheck_queue_depth", "keys waiting to be read or written").Add({});
  // From 1 ms to about 2 minutes.
  Histogram& lag =
      family(BuildHistogram(), "migcheck_replication_lag_seconds",
             "from a keyspace event's arrival to its key written on the target")
          .Add({}, Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                               0.5, 1, 2.5, 5, 10, 30, 60, 120});
  Family<Counter>& reconnects =
      family(BuildCounter(), "migcheck_reconnects_total", "connections re-established, by cause");
  Family<Counter>& waits = family(BuildCounter(), "migcheck_wait_seconds_total",
                                  "time spent waiting out a server state, by cause");
  Counter& slept = family(BuildCounter(), "migcheck_rate_limit_sleep_seconds_total",
                          "time slept to stay under --max-ops-per-sec")
                       .Add({});
};

Metrics& Metrics::get() {
  static Metrics instance;
  return instance;
}

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::serve(std::string_view host_port) {
  const size_t colon = host_port.rfind(':');
  const std::string_view port = colon == std::string_view::npos ? "" : host_port.substr(colon + 1);
  std::string_view host = colon == std::string_view::npos ? "" : host_port.substr(0, colon);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos ||
      port.size() > 5)
    throw UsageError("--metrics wants HOST:PORT (e.g. 127.0.0.1:9121), got '" +
                     std::string(host_port) + "'");
  // civetweb takes "HOST:PORT", and "[::1]:PORT" for IPv6 with a '+'-less form.
  std::string address = host.empty() ? std::string(port) : std::string(host_port);
  std::lock_guard lock(impl_->mu);
  try {
    impl_->exposer = std::make_unique<prometheus::Exposer>(address, 1);
  } catch (const std::exception& e) {
    throw UsageError("cannot serve metrics on " + std::string(host_port) + ": " + e.what());
  }
  impl_->exposer->RegisterCollectable(impl_->registry);
}

int Metrics::port() const {
  if (!impl_->exposer) return 0;
  auto ports = impl_->exposer->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::run_state(std::string_view command, std::string_view state) {
  std::lock_guard lock(impl_->mu);
  if (!impl_->state_name.empty())
    impl_->run.Add({{"command", impl_->state_command}, {"state", impl_->state_name}}).Set(0);
  impl_->state_command = command;
  impl_->state_name = state;
  impl_->run.Add({{"command", impl_->state_command}, {"state", impl_->state_name}}).Set(1);
}

void Metrics::round(int n) {
  impl_->round.Set(n);
}
void Metrics::keys_scanned(std::string_view side, int64_t n) {
  impl_->scanned.Add({{"side", std::string(side)}}).Increment(static_cast<double>(n));
}
void Metrics::keys_checked(int64_t n) {
  impl_->checked.Increment(static_cast<double>(n));
}
void Metrics::keys_copied(int64_t n) {
  impl_->copied.Increment(static_cast<double>(n));
}
void Metrics::keys_failed(int64_t n) {
  impl_->failed.Increment(static_cast<double>(n));
}
void Metrics::differences(std::string_view kind, int64_t n) {
  std::lock_guard lock(impl_->mu);
  Gauge*& g = impl_->diff_kinds[std::string(kind)];
  if (!g) g = &impl_->diffs.Add({{"kind", std::string(kind)}});
  g->Increment(static_cast<double>(n));
}
void Metrics::events(std::string_view what, int64_t n) {
  impl_->events.Add({{"event", std::string(what)}}).Increment(static_cast<double>(n));
}
void Metrics::queue_depth(int64_t n) {
  impl_->queue.Set(static_cast<double>(n));
}
void Metrics::replication_lag(double seconds) {
  impl_->lag.Observe(seconds);
}
void Metrics::reconnect(std::string_view cause) {
  impl_->reconnects.Add({{"cause", std::string(cause)}}).Increment();
}
void Metrics::waited(std::string_view cause, double seconds) {
  impl_->waits.Add({{"cause", std::string(cause)}}).Increment(seconds);
}
void Metrics::rate_limited_sleep(double seconds) {
  impl_->slept.Increment(seconds);
}

}  // namespace migcheck
