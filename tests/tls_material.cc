// Throw-away TLS material for the tests, made once per process with the
// openssl CLI.
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

#include "noncopyable.h"

namespace migcheck::test {

using namespace internal;

const TlsMaterial& tls_material() {
  struct Holder : NonCopyable {
    TlsMaterial m;
    Holder() {
      m.dir = make_temp_dir("migcheck-tls");
      try {
        generate();
      } catch (...) {
        std::error_code ec;
        fs::remove_all(m.dir, ec);
        throw;
      }
    }
    ~Holder() {
      std::error_code ec;
      fs::remove_all(m.dir, ec);
    }

    void openssl(std::vector<std::string> args) const {
      args.insert(args.begin(), "openssl");
      ProcessResult r = run_process(args, 30s);
      if (!r.ok()) throw std::runtime_error("tls_material: " + describe(args) + ": " + r.err);
    }
    std::string path(const std::string& name) const { return m.dir + "/" + name; }

    void make_ca(const std::string& name, const std::string& cn) const {
      openssl({"req",         "-x509",
               "-new",        "-nodes",
               "-newkey",     "ec",
               "-pkeyopt",    "ec_paramgen_curve:prime256v1",
               "-keyout",     path(name + ".key"),
               "-out",        path(name + ".crt"),
               "-days",       "3650",
               "-subj",       "/CN=" + cn,
               "-config",     path("openssl.cnf"),
               "-extensions", "ca_ext"});
    }
    void make_leaf(const std::string& name, const std::string& cn, const std::string& ca,
                   const std::string& ext, int serial) const {
      openssl({"req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-keyout", path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=" + cn,
               "-config", path("openssl.cnf")});
      openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".crt"), "-CAkey",
               path(ca + ".key"), "-set_serial", std::to_string(serial), "-days", "3650", "-out",
               path(name + ".crt"), "-extfile", path("openssl.cnf"), "-extensions", ext});
    }

    void generate() {
      // Our own config, so the system openssl.cnf cannot add or clash with extensions.
      // Server certs also allow clientAuth: Redis presents them on cluster-bus and
      // replication links.
      write_file(path("openssl.cnf"),
                 "[req]\n"
                 "distinguished_name = dn\n"
                 "prompt = no\n"
                 "[dn]\n"
                 "CN = unused\n"
                 "[ca_ext]\n"
                 "basicConstraints = critical,CA:TRUE\n"
                 "keyUsage = critical,keyCertSign,cRLSign\n"
                 "subjectKeyIdentifier = hash\n"
                 "[server_ext]\n"
                 "basicConstraints = CA:FALSE\n"
                 "keyUsage = critical,digitalSignature,keyEncipherment\n"
                 "extendedKeyUsage = serverAuth,clientAuth\n"
                 "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
                 "authorityKeyIdentifier = keyid\n"
                 "[client_ext]\n"
                 "basicConstraints = CA:FALSE\n"
                 "keyUsage = critical,digitalSignature\n"
                 "extendedKeyUsage = clientAuth\n"
                 "authorityKeyIdentifier = keyid\n");
      make_ca("ca", "migcheck test CA");
      make_leaf("server", "localhost", "ca", "server_ext", 1001);
      make_leaf("client", "migcheck-test-client", "ca", "client_ext", 1002);
      make_ca("other-ca", "migcheck unrelated CA");
      make_leaf("other-client", "migcheck-other-client", "other-ca", "client_ext", 2001);
      m.ca_cert = path("ca.crt");
      m.ca_key = path("ca.key");
      m.server_cert = path("server.crt");
      m.server_key = path("server.key");
      m.client_cert = path("client.crt");
      m.client_key = path("client.key");
      m.other_ca_cert = path("other-ca.crt");
      m.other_client_cert = path("other-client.crt");
      m.other_client_key = path("other-client.key");
    }
  };
  static Holder holder;
  return holder.m;
}

}  // namespace migcheck::test
