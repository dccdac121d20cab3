// Connection set-up and the pipelined request/reply loop.
#include "connection.h"

#include <algorithm>
#include <mutex>

#include "auth_commands.h"
#include "errors.h"
#include "log.h"

namespace migcheck {

Connection::Connection(Endpoint ep, ConnectOptions opts)
    : ep_(std::move(ep)), opts_(std::move(opts)), in_(64 * 1024) {
  if (ep_.tls.enabled && ep_.tls.insecure) {
    static std::once_flag warned;
    std::call_once(warned, [&] {
      log::warn("TLS certificate verification is off for " + ep_.display() +
                " (--insecure): the connection is encrypted but not authenticated");
    });
  }
  transport_ = std::make_unique<Transport>(ep_, opts_.connect_timeout);
  handshake();
}

Connection::~Connection() = default;

std::string Connection::handshake_failure(const std::string& what) const {
  const std::string name = ep_.display();
  const std::string_view first = first_bytes_;
  if (first.starts_with("HTTP/"))
    return "cannot talk to " + name + ": it is an HTTP server, not Redis";
  // A TLS record (handshake 0x16, alert 0x15) answering plain text.
  const bool tls_record = !first.empty() && (first[0] == 0x15 || first[0] == 0x16);
  const std::string tls_hint = ep_.tls.enabled ? "" : " (is it a TLS-only port? try rediss://)";
  if (first.empty() && transport_->timed_out())
    return "cannot talk to " + name + ": no answer within " +
           format_duration(opts_.connect_timeout) + " (not a Redis server?)";
  if (first.empty() || tls_record) return what + tls_hint;
  return "cannot talk to " + name + ": " + what + " (not a Redis server?" +
         (ep_.tls.enabled ? ")" : " or a TLS-only port? try rediss://)");
}

void Connection::handshake() {
  const std::string name = ep_.display();
  std::vector<Command> setup = auth_commands(ep_);
  if (opts_.select_db && ep_.db != 0) setup.push_back({"SELECT", std::to_string(ep_.db)});
  if (opts_.readonly) setup.push_back({"READONLY"});
  if (!opts_.client_name.empty()) setup.push_back({"CLIENT", "SETNAME", opts_.client_name});
  if (opts_.fetch_run_id) setup.push_back({"INFO", "server"});
  // Something must be answered at once: a peer that accepts and never
  // speaks is found out here, within the connect timeout.
  if (setup.empty()) setup.push_back({"PING"});
  std::vector<Reply> replies;
  const Millis command_timeout = opts_.command_timeout;
  opts_.command_timeout = std::min(opts_.connect_timeout, command_timeout);
  try {
    replies = pipeline(setup);
  } catch (const ConnectionError& e) {
    opts_.command_timeout = command_timeout;
    throw ConnectionError(handshake_failure(e.what()), e.retryable);
  } catch (const ProtocolError& e) {
    opts_.command_timeout = command_timeout;
    throw ConnectionError(handshake_failure(e.what()), false);
  }
  opts_.command_timeout = command_timeout;
  for (size_t i = 0; i < setup.size(); ++i) {
    const Reply& r = replies[i];
    const std::string& cmd = setup[i][0];
    if (cmd == "INFO" && r.is_string()) run_id_ = info_field(r.str, "run_id");
    if (!r.is_error()) continue;
    if (r.error_code() == "NOAUTH" && cmd == "PING" && opts_.caller_authenticates) continue;
    if (r.error_code() == "NOAUTH")
      throw ConnectionError("authentication required by " + name +
                                ": give a password in the URI, --*-pass or MIGCHECK_*_PASS",
                            false);
    if (cmd == "AUTH")
      // redis://word@host takes `word` as a password (as redis-cli does): a
      // user name given that way fails here, so say how to give one.
      throw ConnectionError(
          "authentication failed for " + name + ": " + r.str +
              (ep_.user.empty() ? " (a URI's redis://secret@host is a password alone; give a "
                                  "user as redis://user:password@host or with --source-user / "
                                  "--target-user)"
                                : ""),
          false);
    // CLIENT may be refused by ACLs (the name is cosmetic), INFO too (then
    // restarts go unnoticed, and RestartWatch says so).
    if (cmd == "CLIENT" || cmd == "INFO") continue;
    if (cmd == "SELECT")
      throw ConnectionError(
          "cannot select database " + std::to_string(ep_.db) + " on " + name + ": " + r.str, false);
    throw ConnectionError(cmd + " failed on " + name + ": " + r.str, false);
  }
}

void Connection::append(std::span<const std::string> args) {
  append_command(out_, args);
  ++pending_;
}

void Connection::flush() {
  if (out_.empty()) return;
  try {
    transport_->write_all(out_, opts_.command_timeout);
  } catch (...) {
    broken_ = true;
    throw;
  }
  out_.clear();
}

Reply Connection::read() {
  if (pending_ == 0) throw ProtocolError("read() with no command pending on " + name());
  flush();
  try {
    for (;;) {
      if (auto r = parser_.next()) {
        --pending_;
        return std::move(*r);
      }
      size_t n = transport_->read_some(in_.data(), in_.size(), opts_.command_timeout);
      if (first_bytes_.empty()) first_bytes_.assign(in_.data(), std::min<size_t>(n, 16));
      parser_.feed(std::string_view(in_.data(), n));
    }
  } catch (...) {
    broken_ = true;
    throw;
  }
}

Reply Connection::command(std::span<const std::string> args) {
  append(args);
  return read();
}

Reply Connection::command(std::initializer_list<std::string_view> args) {
  Command c = make_command(args);
  return command(std::span<const std::string>(c));
}

std::vector<Reply> Connection::pipeline(std::span<const Command> cmds) {
  std::vector<Reply> out;
  out.reserve(cmds.size());
  size_t sent = 0;
  while (out.size() < cmds.size()) {
    while (sent < cmds.size() && pending_ < opts_.max_in_flight) append(cmds[sent++]);
    // Read half a window before topping up, so writes and server work overlap.
    size_t target =
        sent == cmds.size() ? cmds.size() : out.size() + std::max<size_t>(1, pending_ / 2);
    while (out.size() < target) out.push_back(read());
  }
  return out;
}

Reply checked(Connection& c, std::initializer_list<std::string_view> cmd) {
  Reply r = c.command(cmd);
  if (r.is_error())
    throw ProtocolError(std::string(*cmd.begin()) + " failed on " + c.name() + ": " + r.str);
  return r;
}

}  // namespace migcheck
