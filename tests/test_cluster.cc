// TestCluster: a Redis Cluster of real servers made with `<cli> --cluster
// create`, routed commands, and key_slot().
#include "fixture_internal.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace migcheck::test {

using namespace internal;

// ---------------------------------------------------------------------------
// TestCluster

int key_slot(std::string_view key) {
  auto open = key.find('{');
  if (open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  uint16_t crc = 0;  // CRC16-CCITT (XMODEM), as in the Redis Cluster spec
  for (unsigned char c : key) {
    crc ^= static_cast<uint16_t>(c << 8);
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc & 16383;
}

TestCluster::TestCluster(ServerOptions base, int masters, int replicas) : masters_(masters) {
  if (masters < 3) {
    throw std::invalid_argument("TestCluster: --cluster create needs at least 3 masters");
  }
  base.cluster = true;
  for (int i = 0; i < masters * (1 + replicas); ++i)
    nodes_.push_back(std::make_unique<TestServer>(base));

  std::vector<std::string> argv = {nodes_.front()->cli_binary()};
  for (auto& a : cli_tls_args(base)) argv.push_back(std::move(a));
  argv.insert(argv.end(), {"--cluster", "create"});
  for (const auto& n : nodes_) argv.push_back(n->host() + ":" + std::to_string(n->port()));
  argv.insert(argv.end(), {"--cluster-replicas", std::to_string(replicas), "--cluster-yes"});
  ProcessResult r = run_process(argv, 60s, cli_env(base));
  if (!r.ok()) {
    throw std::runtime_error("cluster create failed (exit " + std::to_string(r.exit_code) + "):\n" +
                             r.out + r.err);
  }
  wait_ok();
}

void TestCluster::wait_ok(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const std::string n = std::to_string(nodes_.size());
  std::string why;
  while (true) {
    try {
      why.clear();
      std::set<std::string> views;
      for (auto& node : nodes_) {
        auto r = node->replies({{"CLUSTER", "INFO"}, {"CLUSTER", "NODES"}, {"CLUSTER", "SLOTS"}});
        auto info = parse_info(r[0].str);
        if (info["cluster_state"] != "ok" || info["cluster_slots_assigned"] != "16384" ||
            info["cluster_slots_ok"] != "16384" || info["cluster_known_nodes"] != n) {
          why = "node " + std::to_string(node->port()) + ": " + r[0].text();
          break;
        }
        int masters = 0;
        std::istringstream lines(r[1].str);
        std::string line;
        while (std::getline(lines, line)) {
          std::istringstream fields(line);
          std::string id, addr, flags;
          fields >> id >> addr >> flags;
          if (flags.find("master") != std::string::npos &&
              flags.find("fail") == std::string::npos &&
              flags.find("handshake") == std::string::npos &&
              flags.find("noaddr") == std::string::npos) {
            ++masters;
          }
        }
        if (masters != masters_) {
          why = "node " + std::to_string(node->port()) + " sees:\n" + r[1].str;
          break;
        }
        // Slot ranges with their owners' ids, sorted: equal on every node.
        std::vector<std::string> ranges;
        for (const auto& range : r[2].elements) {
          if (range.elements.size() < 3 || range.elements[2].elements.size() < 3) continue;
          ranges.push_back(std::to_string(range.elements[0].integer) + "-" +
                           std::to_string(range.elements[1].integer) + ":" +
                           range.elements[2].elements[2].str);
        }
        std::sort(ranges.begin(), ranges.end());
        std::string view;
        for (const auto& s : ranges) view += s + " ";
        views.insert(view);
      }
      if (why.empty() && views.size() == 1) {
        refresh_slots();
        return;
      }
      if (why.empty()) why = "nodes disagree on CLUSTER SLOTS";
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (Clock::now() >= deadline) throw std::runtime_error("cluster not ok: " + why);
    std::this_thread::sleep_for(50ms);
  }
}

void TestCluster::refresh_slots() {
  std::map<std::string, int> index_of_id;
  for (int i = 0; i < size(); ++i) {
    Reply id = node(i).reply({"CLUSTER", "MYID"});
    if (id.is_error()) throw std::runtime_error("CLUSTER MYID: " + id.str);
    index_of_id[id.str] = i;
  }
  std::vector<int> owner(16384, -1);
  Reply slots = node(0).reply({"CLUSTER", "SLOTS"});
  for (const auto& range : slots.elements) {
    if (range.elements.size() < 3 || range.elements[2].elements.size() < 3) continue;
    auto it = index_of_id.find(range.elements[2].elements[2].str);
    if (it == index_of_id.end()) continue;
    for (long long s = range.elements[0].integer; s <= range.elements[1].integer; ++s) {
      owner[static_cast<size_t>(s)] = it->second;
    }
  }
  slot_owner_ = std::move(owner);
}

TestServer& TestCluster::node_for_key(std::string_view key) {
  int owner = slot_owner_.at(static_cast<size_t>(key_slot(key)));
  if (owner < 0) throw std::runtime_error("no node owns the slot of key " + std::string(key));
  return node(owner);
}

Reply TestCluster::reply_routed(const std::vector<std::string>& args) {
  TestServer* target = args.size() >= 2 ? &node_for_key(args[1]) : &node(0);
  bool asking = false;
  for (int hop = 0; hop < 5; ++hop) {
    Reply r = asking ? target->replies({{"ASKING"}, args}).back() : target->reply(args);
    if (!r.is_error()) return r;
    // "MOVED <slot> <host>:<port>" or "ASK <slot> <host>:<port>"
    std::istringstream err(r.str);
    std::string kind, addr;
    int slot = -1;
    err >> kind >> slot >> addr;
    if (kind == "MOVED") {
      refresh_slots();
      int owner = slot >= 0 && slot < 16384 ? slot_owner_[static_cast<size_t>(slot)] : -1;
      if (owner < 0) return r;
      target = &node(owner);
      asking = false;
    } else if (kind == "ASK") {
      int port = std::atoi(addr.substr(addr.rfind(':') + 1).c_str());
      auto it = std::find_if(nodes_.begin(), nodes_.end(),
                             [&](const auto& n) { return n->port() == port; });
      if (it == nodes_.end()) return r;
      target = it->get();
      asking = true;
    } else {
      return r;
    }
  }
  throw std::runtime_error("too many cluster redirections for " + describe(args));
}

std::string TestCluster::cmd_routed(const std::vector<std::string>& args) {
  return reply_routed(args).text();
}

void TestCluster::flushall() {
  for (auto& n : nodes_) n->pipeline({{"FLUSHALL"}});
}

}  // namespace migcheck::test
