// TestSentinelSet: a primary, its replica and sentinels as TestServers. A
// sentinel is redis-server started through a link named redis-sentinel
// (Redis enters Sentinel mode by its executable's name), so TestServer's
// process handling, port retries and cleanup serve sentinels unchanged.
#include "sentinel_fixture.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace migcheck::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// <tmp>/migcheck-sentinel-XXXXXX/redis-sentinel -> redis-server, made once.
const std::string& sentinel_binary() {
  struct Holder {
    std::string dir, path;
    Holder() {
      std::string server;
      std::istringstream dirs(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
      for (std::string d; std::getline(dirs, d, ':');)
        if (server.empty() && ::access((d + "/redis-server").c_str(), X_OK) == 0)
          server = fs::canonical(d + "/redis-server").string();
      if (server.empty()) throw std::runtime_error("redis-server not found in PATH");
      std::string tmpl = (fs::temp_directory_path() / "migcheck-sentinel-XXXXXX").string();
      if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
      dir = tmpl;
      path = dir + "/redis-sentinel";
      fs::create_symlink(server, path);
    }
    ~Holder() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  };
  static Holder h;
  return h.path;
}

std::string field(const Reply& map, const std::string& name) {
  for (size_t i = 0; i + 1 < map.elements.size(); i += 2)
    if (map.elements[i].str == name) return map.elements[i + 1].str;
  return {};
}

std::string info_field(const std::string& info, const std::string& name) {
  std::istringstream in(info);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(name + ":", 0) == 0) return line.substr(name.size() + 1);
  }
  return {};
}

template <typename Pred>
void wait_until(std::chrono::seconds timeout, const std::string& what, Pred pred) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      throw std::runtime_error("TestSentinelSet: timed out waiting for " + what);
    std::this_thread::sleep_for(50ms);
  }
}

}  // namespace

TestSentinelSet::TestSentinelSet(SentinelSetOptions opts) : opts_(std::move(opts)) {
  ServerOptions data = opts_.data;
  data.config.push_back({"repl-diskless-sync-delay", "0"});
  if (!data.password.empty()) data.config.push_back({"masterauth", data.password});
  nodes_.push_back(std::make_unique<TestServer>(data));
  ServerOptions replica = data;
  replica.config.push_back({"replicaof", "127.0.0.1 " + std::to_string(nodes_[0]->port())});
  nodes_.push_back(std::make_unique<TestServer>(replica));

  const int quorum = opts_.sentinels / 2 + 1;
  for (int i = 0; i < opts_.sentinels; ++i) {
    ServerOptions s;
    s.binary = sentinel_binary();
    s.enable_debug = false;
    s.password = opts_.sentinel_password;
    s.acl_users = opts_.sentinel_acl_users;
    s.tls = data.tls;  // with tls-replication yes: TLS to the data nodes too
    s.config = {
        {"sentinel", std::string("monitor ") + kMaster + " 127.0.0.1 " +
                         std::to_string(nodes_[0]->port()) + " " + std::to_string(quorum)},
        {"sentinel", std::string("down-after-milliseconds ") + kMaster + " 1000"},
        {"sentinel", std::string("failover-timeout ") + kMaster + " 5000"},
    };
    if (!data.password.empty())
      s.config.push_back({"sentinel", std::string("auth-pass ") + kMaster + " " + data.password});
    sentinels_.push_back(std::make_unique<TestServer>(s));
  }
  wait_synced();
}

std::string TestSentinelSet::sentinel_list() const {
  std::string out;
  for (const auto& s : sentinels_)
    out += (out.empty() ? "" : ",") + s->host() + ":" + std::to_string(s->port());
  return out;
}

std::string TestSentinelSet::uri() const {
  return "redis-sentinel://" + sentinel_list() + "?master=" + kMaster;
}

int TestSentinelSet::primary_port() {
  Reply r = sentinels_[0]->reply({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", kMaster});
  if (r.elements.size() != 2) throw std::runtime_error("sentinel knows no primary: " + r.text());
  return std::stoi(r.elements[1].str);
}

TestServer& TestSentinelSet::primary() {
  const int port = primary_port();
  for (auto& n : nodes_)
    if (n->port() == port) return *n;
  throw std::runtime_error("sentinel names an unknown primary port " + std::to_string(port));
}

TestServer& TestSentinelSet::replica() {
  TestServer& p = primary();
  return nodes_[0].get() == &p ? *nodes_[1] : *nodes_[0];
}

void TestSentinelSet::wait_synced(std::chrono::seconds timeout) {
  TestServer& p = primary();
  TestServer& r = replica();
  wait_until(timeout, "the replica to catch up", [&] {
    std::string pi = p.cmd({"INFO", "replication"}), ri = r.cmd({"INFO", "replication"});
    return info_field(ri, "master_link_status") == "up" &&
           info_field(ri, "master_port") == std::to_string(p.port()) &&
           info_field(pi, "master_repl_offset") == info_field(ri, "slave_repl_offset");
  });
  for (auto& s : sentinels_) {
    wait_until(timeout, "the sentinels to see a healthy replica", [&] {
      Reply reps = s->reply({"SENTINEL", "REPLICAS", kMaster});
      for (const Reply& rep : reps.elements)
        if (field(rep, "port") == std::to_string(r.port()) && field(rep, "flags") == "slave" &&
            field(rep, "master-link-status") == "ok")
          return true;
      return false;
    });
    wait_until(timeout, "the sentinels to know each other", [&] {
      Reply m = s->reply({"SENTINEL", "MASTER", kMaster});
      return field(m, "num-other-sentinels") == std::to_string(sentinels_.size() - 1);
    });
  }
}

void TestSentinelSet::failover(std::chrono::seconds timeout) {
  const int old_port = primary_port();
  TestServer& promoted = replica();
  wait_until(timeout, "SENTINEL FAILOVER to be accepted", [&] {
    return !sentinels_[0]->reply({"SENTINEL", "FAILOVER", kMaster}).is_error();
  });
  for (auto& s : sentinels_) {
    wait_until(timeout, "every sentinel to name the promoted replica", [&] {
      Reply r = s->reply({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", kMaster});
      return r.elements.size() == 2 && r.elements[1].str != std::to_string(old_port);
    });
  }
  wait_until(timeout, "the promoted replica to be a primary", [&] {
    return info_field(promoted.cmd({"INFO", "replication"}), "role") == "master";
  });
}

}  // namespace migcheck::test
