// Sockets and TLS. Owns the file descriptor, the SSL_CTX and the SSL object.
#include "transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "errors.h"
#include "fd.h"
#include "log.h"
#include "sentinel.h"

namespace migcheck {
namespace {

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

std::string lower_errno(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// Waits for `events` on fd; false on timeout.
bool wait_fd(int fd, short events, Millis timeout) {
  pollfd p{fd, events, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() < 0) left = Millis(0);
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let the following I/O call report the error
  }
}

void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

std::string openssl_error_string() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // Keep only OpenSSL's reason text: "error:0A000086:SSL routines::certificate verify failed".
    std::string s = buf;
    auto pos = s.rfind(':');
    if (pos != std::string::npos) s = s.substr(pos + 1);
    if (!out.empty()) out += "; ";
    out += s;
  }
  return out;
}

struct Transport::Impl {
  Fd fd;
  std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx;
  std::unique_ptr<SSL, SslDeleter> ssl;
  std::string name;  // the endpoint's display(), for messages
  bool timed_out = false;
  // The server asked for a client certificate and none was configured; until
  // a first byte is read back, a failure is most likely its refusal (TLS 1.3
  // refuses after the client's handshake is over, on the first read or write,
  // with an alert or a bare connection reset that says nothing useful).
  bool cert_requested_none_given = false;
  bool answered = false;

  // The one clear line for that case; "" otherwise.
  std::string missing_cert() const {
    if (!cert_requested_none_given || answered) return "";
    return "TLS handshake with " + name +
           " failed: the server requires a client certificate (tls-auth-clients) and none was "
           "given: pass --source-cert and --source-key (--target-cert and --target-key for the "
           "target)";
  }
};

namespace {

Fd connect_unix(const Endpoint& ep, const std::string& name, Millis timeout) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (ep.unix_path.size() >= sizeof sa.sun_path)
    throw ConnectionError("cannot connect to " + name + ": socket path too long", false);
  std::memcpy(sa.sun_path, ep.unix_path.c_str(), ep.unix_path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.fd < 0) throw ConnectionError("cannot connect to " + name + ": " + lower_errno(errno));
  set_nonblocking(fd.fd);
  if (::connect(fd.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS &&
      errno != EAGAIN)
    throw ConnectionError("cannot connect to " + name + ": " + lower_errno(errno));
  if (!wait_fd(fd.fd, POLLOUT, timeout))
    throw ConnectionError("cannot connect to " + name + ": timed out");
  return fd;
}

Fd connect_tcp(const Endpoint& ep, const std::string& name, Millis timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(ep.port);
  int rc = getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0)
    throw ConnectionError("cannot connect to " + name +
                          ": cannot resolve host: " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  std::string last = "no address";
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.fd < 0) {
      last = lower_errno(errno);
      continue;
    }
    set_nonblocking(fd.fd);
    int one = 1;
    setsockopt(fd.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd.fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (::connect(fd.fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = lower_errno(errno);
        continue;
      }
      if (!wait_fd(fd.fd, POLLOUT, timeout)) {
        last = "timed out after " + format_duration(timeout);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = lower_errno(err);
        continue;
      }
    }
    return fd;
  }
  throw ConnectionError("cannot connect to " + name + ": " + last);
}

}  // namespace

Transport::Transport(const Endpoint& given, Millis connect_timeout)
    : impl_(std::make_unique<Impl>()) {
  // A Sentinel-managed primary is wherever its sentinels say it is now: each
  // connection, so each reconnect after a failover, asks them first.
  std::optional<PrimaryLocation> located;
  if (given.is_sentinel()) located = locate_primary(given, connect_timeout);
  const Endpoint& ep = located ? located->primary : given;
  impl_->name = located ? given.display() + " (primary " + ep.address() + ")" : ep.display();
  impl_->fd = ep.is_unix() ? connect_unix(ep, impl_->name, connect_timeout)
                           : connect_tcp(ep, impl_->name, connect_timeout);
  if (!ep.tls.enabled) return;

  const std::string fail = "TLS handshake with " + impl_->name + " failed: ";
  ERR_clear_error();
  impl_->ctx.reset(SSL_CTX_new(TLS_client_method()));
  if (!impl_->ctx) throw ConnectionError(fail + openssl_error_string(), false);
  SSL_CTX* ctx = impl_->ctx.get();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!ep.tls.insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int ok = ep.tls.cacert.empty()
                 ? SSL_CTX_set_default_verify_paths(ctx)
                 : SSL_CTX_load_verify_locations(ctx, ep.tls.cacert.c_str(), nullptr);
    if (ok != 1)
      throw ConnectionError(
          "cannot load CA certificates '" + ep.tls.cacert + "': " + openssl_error_string(), false);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!ep.tls.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, ep.tls.cert.c_str()) != 1)
      throw ConnectionError(
          "cannot load client certificate '" + ep.tls.cert + "': " + openssl_error_string(), false);
    const std::string& key = ep.tls.key.empty() ? ep.tls.cert : ep.tls.key;
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw ConnectionError("cannot load client key '" + key + "': " + openssl_error_string(),
                            false);
  }
  if (ep.tls.cert.empty()) {
    // Called only when the server sends a CertificateRequest: noted, and
    // the handshake goes on without a certificate (the server may accept).
    SSL_CTX_set_client_cert_cb(ctx, [](SSL* s, X509**, EVP_PKEY**) -> int {
      static_cast<Impl*>(SSL_get_app_data(s))->cert_requested_none_given = true;
      return 0;
    });
  }
  impl_->ssl.reset(SSL_new(ctx));
  if (!impl_->ssl) throw ConnectionError(fail + openssl_error_string(), false);
  SSL* ssl = impl_->ssl.get();
  SSL_set_app_data(ssl, impl_.get());
  SSL_set_fd(ssl, impl_->fd.fd);
  if (!ep.is_unix()) {
    if (!is_ip_literal(ep.host)) SSL_set_tlsext_host_name(ssl, ep.host.c_str());
    if (!ep.tls.insecure) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (is_ip_literal(ep.host))
        X509_VERIFY_PARAM_set1_ip_asc(param, ep.host.c_str());
      else
        X509_VERIFY_PARAM_set1_host(param, ep.host.c_str(), 0);
    }
  }
  auto deadline = std::chrono::steady_clock::now() + connect_timeout;
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl);
    if (rc == 1) break;
    int err = SSL_get_error(ssl, rc);
    auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
    if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && left.count() > 0) {
      if (!wait_fd(impl_->fd.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, left))
        throw ConnectionError(fail + "no TLS answer within " + format_duration(connect_timeout) +
                              " (is the port TLS-enabled?)");
      continue;
    }
    if (left.count() <= 0) throw ConnectionError(fail + "timed out");
    if (auto m = impl_->missing_cert(); !m.empty()) throw ConnectionError(m, false);
    long verify = SSL_get_verify_result(ssl);
    std::string why = openssl_error_string();
    if (verify != X509_V_OK)
      why = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    if (why.empty())
      why = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN
                ? "connection closed by server (is the port TLS-enabled?)"
                : "protocol error";
    throw ConnectionError(fail + why, false);
  }
}

Transport::~Transport() {
  if (impl_ && impl_->ssl) {
    // Best effort, never blocking: the socket is non-blocking.
    SSL_shutdown(impl_->ssl.get());
  }
}

bool Transport::tls() const {
  return impl_->ssl != nullptr;
}
int Transport::fd() const {
  return impl_->fd.fd;
}
bool Transport::timed_out() const {
  return impl_->timed_out;
}

void Transport::write_all(std::string_view data, Millis timeout) {
  const std::string& name = impl_->name;
  while (!data.empty()) {
    if (impl_->ssl) {
      ERR_clear_error();
      size_t n = std::min<size_t>(data.size(), 1 << 20);
      int rc = SSL_write(impl_->ssl.get(), data.data(), static_cast<int>(n));
      if (rc > 0) {
        data.remove_prefix(static_cast<size_t>(rc));
        continue;
      }
      int err = SSL_get_error(impl_->ssl.get(), rc);
      if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
        if (!wait_fd(impl_->fd.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout))
          throw ConnectionError("timed out writing to " + name);
        continue;
      }
      if (auto m = impl_->missing_cert(); !m.empty()) throw ConnectionError(m, false);
      std::string why = openssl_error_string();
      throw ConnectionError("connection to " + name + " lost while writing" +
                            (why.empty() ? std::string() : ": " + why));
    }
    ssize_t rc = ::send(impl_->fd.fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (rc > 0) {
      data.remove_prefix(static_cast<size_t>(rc));
      continue;
    }
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!wait_fd(impl_->fd.fd, POLLOUT, timeout))
        throw ConnectionError("timed out writing to " + name);
      continue;
    }
    throw ConnectionError("connection to " + name + " lost while writing: " + lower_errno(errno));
  }
}

size_t Transport::read_some(char* buf, size_t len, Millis timeout) {
  const std::string& name = impl_->name;
  impl_->timed_out = false;
  for (;;) {
    if (impl_->ssl) {
      ERR_clear_error();
      int rc = SSL_read(impl_->ssl.get(), buf, static_cast<int>(std::min<size_t>(len, 1 << 30)));
      if (rc > 0) {
        impl_->answered = true;
        return static_cast<size_t>(rc);
      }
      int err = SSL_get_error(impl_->ssl.get(), rc);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(impl_->fd.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout)) {
          impl_->timed_out = true;
          throw ConnectionError("timed out after " + format_duration(timeout) +
                                " waiting for a reply from " + name);
        }
        continue;
      }
      if (auto m = impl_->missing_cert(); !m.empty()) throw ConnectionError(m, false);
      if (err == SSL_ERROR_ZERO_RETURN)
        throw ConnectionError("connection to " + name + " closed by server");
      std::string why = openssl_error_string();
      throw ConnectionError("connection to " + name + " lost" +
                            (why.empty() ? std::string(" (closed by server)") : ": " + why));
    }
    ssize_t rc = ::recv(impl_->fd.fd, buf, len, 0);
    if (rc > 0) return static_cast<size_t>(rc);
    if (rc == 0) throw ConnectionError("connection to " + name + " closed by server");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!wait_fd(impl_->fd.fd, POLLIN, timeout)) {
        impl_->timed_out = true;
        throw ConnectionError("timed out after " + format_duration(timeout) +
                              " waiting for a reply from " + name);
      }
      continue;
    }
    throw ConnectionError("connection to " + name + " lost: " + lower_errno(errno));
  }
}

}  // namespace migcheck
