// Test fixtures owning real redis-server / valkey-server processes on loopback:
// single servers (TestServer), Redis Clusters (TestCluster), throw-away TLS
// material, and a tiny private RESP client to load and inspect data. Nothing
// here uses the project's src/ code, so tests never rely on the code under test
// to set up or check their own servers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "key_cmds.h"
#include "noncopyable.h"

namespace migcheck::test {

// Members all have initializers, so designated initializers such as
// ServerOptions{.password = "pw"} compile without -Wmissing-field-initializers.
struct ServerOptions {
  std::string binary = "redis-server";  // or "valkey-server", or a path to either
  // Extra directives written to redis.conf as "name value". The value is written
  // as-is (so "900 1" stays two words, as in a hand-written redis.conf); an empty
  // value is written as "".
  std::vector<std::pair<std::string, std::string>> config{};
  std::string password{};                // requirepass
  std::vector<std::string> acl_users{};  // ACL rules, e.g. "reader on >pw ~* +@read -@dangerous"
  bool tls = false;                      // TLS-only port (plain port 0), certs from tls_material()
  bool tls_auth_clients = false;         // require client certificates
  bool enable_debug = true;              // enable-debug-command yes
  std::vector<std::string> rename_away{};  // rename-command X "" (imitates ElastiCache)
  std::string maxmemory{};                 // e.g. "2mb"
  bool cluster = false;                    // cluster-enabled yes (TestCluster sets it)
  bool unix_socket = false;                // also listen on <dir>/redis.sock
  // Non-zero: the server's wall clock runs this many ms ahead (behind when
  // negative), through the LD_PRELOAD shim tests/faketime_shim.c.
  long long clock_offset_ms = 0;
};

struct TlsMaterial {
  std::string dir;
  std::string ca_cert, ca_key;
  std::string server_cert, server_key;  // CN=localhost, SAN DNS:localhost, IP:127.0.0.1
  std::string client_cert, client_key;  // signed by ca_cert
  std::string other_ca_cert;            // an unrelated CA: verifying the server with it fails
  std::string other_client_cert, other_client_key;  // signed by other_ca_cert
};
// Generated once per test process with the openssl CLI; removed at exit.
const TlsMaterial& tls_material();

// One reply of the private RESP client. RESP3 types fold into these: maps and
// sets become arrays, doubles and big numbers bulk strings, booleans integers.
struct Reply {
  enum class Type { Status, Error, Integer, Bulk, Nil, Array };
  Type type = Type::Nil;
  std::string str;              // Status, Error (without the leading '-'), Bulk
  long long integer = 0;        // Integer
  std::vector<Reply> elements;  // Array

  bool is_error() const { return type == Type::Error; }
  bool is_nil() const { return type == Type::Nil; }
  // Flattened for assertions: errors as "(error) MSG", nil as "(nil)", arrays
  // (nested ones too) as their leaves joined by '\n'.
  std::string text() const;
};

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal number
  bool timed_out = false;
  std::string out, err;
  bool ok() const { return exit_code == 0 && !timed_out; }
};
// Runs argv (argv[0] looked up in PATH) with stdin from /dev/null and captures
// stdout and stderr; kills it after `timeout`. `env` adds or overrides variables.
ProcessResult run_process(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60),
                          const std::vector<std::pair<std::string, std::string>>& env = {});

// Whether the private client sends AUTH <password> after connecting.
enum class Auth { Password, None };

// One server process in its own temp dir. Started by the constructor (throws
// std::runtime_error with the end of the server log if it does not come up within
// ~10 s); stopped and its dir removed by the destructor.
//
// The private client opens a fresh connection for every call (so SELECT and AUTH
// do not carry over between calls; use replies() for several commands on one
// connection). For TLS servers it talks over a unix socket in the server's dir,
// which Redis serves in plain text; real TLS clients use port() and tls_material().
//
// Servers die with the thread that started them (PR_SET_PDEATHSIG), so a crashed
// test never leaks them: start servers on a thread that outlives them.
class TestServer : NonCopyable {
 public:
  explicit TestServer(ServerOptions opts = {});
  ~TestServer();

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  std::string uri() const;        // redis://127.0.0.1:PORT or rediss://..., no password
  std::string unix_path() const;  // <dir>/redis.sock, or "" when not listening on one
  const std::string& dir() const { return dir_; }
  std::string log_path() const;
  pid_t pid() const { return pid_; }  // -1 while stopped
  bool running() const;
  const ServerOptions& options() const { return opts_; }
  std::string cli_binary() const;  // redis-cli or valkey-cli, next to the server binary
  std::string log_tail(int lines = 20) const;

  std::string cmd(const std::vector<std::string>& args);  // = reply(args).text()
  Reply reply(const std::vector<std::string>& args);
  // All commands pipelined on one connection; every reply is returned, errors too.
  std::vector<Reply> replies(const Cmds& cmds, Auth auth = Auth::Password);
  // Pipelined, binary-safe; throws std::runtime_error naming the first command that
  // got an error reply unless throw_on_error is false.
  void pipeline(const Cmds& cmds, bool throw_on_error = true);
  // Runs the matching CLI against this server (-h, -p, TLS material and the
  // password are added) followed by args.
  ProcessResult cli(const std::vector<std::string>& args) const;

  // Commands the server ran since its start or CONFIG RESETSTAT (the sum of
  // INFO commandstats calls), this call's own INFO not included.
  long long commands_called();
  std::string debug_digest();                              // throws on an error reply
  std::string debug_digest_value(const std::string& key);  // throws on an error reply

  // SHUTDOWN NOSAVE NOW FORCE (or SIGTERM when that is refused), SIGKILL after 5 s;
  // a no-op when stopped.
  void stop();
  void kill9();    // SIGKILL
  void restart();  // stop if running, start again on the same port and dir (data is gone)

 private:
  void start(bool keep_port);
  void write_config() const;
  bool wait_ready(long long log_offset);  // false: port taken, the server exited
  void reap(bool block);

  ServerOptions opts_;
  std::string dir_;
  std::string sock_path_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A Redis Cluster of `masters` (>= 3) masters with no replicas on loopback, made
// with `<cli> --cluster create`. The constructor returns once every node reports
// cluster_state:ok with all 16384 slots and all nodes agree on the slot map.
class TestCluster {
 public:
  // With `replicas` per master (nodes masters.. are the replicas, placed by
  // --cluster create). A short failover: base.config {"cluster-node-timeout", "1000"}.
  explicit TestCluster(ServerOptions base = {}, int masters = 3, int replicas = 0);

  std::string seed_uri() const { return nodes_.front()->uri(); }
  TestServer& node(int i) { return *nodes_.at(static_cast<size_t>(i)); }
  int size() const { return static_cast<int>(nodes_.size()); }
  TestServer& node_for_key(std::string_view key);

  // Runs a command whose first key is args[1] on the node owning that key,
  // following MOVED and ASK redirections.
  std::string cmd_routed(const std::vector<std::string>& args);  // = reply_routed(args).text()
  Reply reply_routed(const std::vector<std::string>& args);
  void flushall();
  // Polls until the cluster is healthy again (e.g. after restarting a node).
  void wait_ok(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Re-reads the slot map (reply_routed does so by itself on MOVED).
  void refresh_slots();

 private:
  std::vector<std::unique_ptr<TestServer>> nodes_;
  std::vector<int> slot_owner_;  // slot -> node index
  int masters_ = 0;
};

// CRC16 hash slot of a key, honouring {hash tags}.
int key_slot(std::string_view key);

// A loopback port (and its cluster bus port, +10000) that is free right now,
// drawn at random below the ephemeral range so parallel test processes rarely
// collide; TestServer also retries on "Address already in use".
int free_port();

// Whether `name` is an executable path or is found in PATH.
bool have_binary(const std::string& name);

// Test engines by name: "redis-7.0" and "valkey-8.0" are the system's
// redis-server and valkey-server; "redis-8.0" and "valkey-8.1" are the Debian
// 13 builds unpacked by scripts/test_engines.sh into $MIGCHECK_ENGINES_DIR
// (default ~/.cache/migcheck-engines), started through their wrappers there.
// The server binary to put in ServerOptions::binary, or "" when the engine is
// not installed (or the name is unknown).
std::string engine_binary(std::string_view engine);
// Under CI (environment CI=true) a missing engine is a setup error: tests must
// fail rather than skip.
bool missing_engine_is_error();

}  // namespace migcheck::test
