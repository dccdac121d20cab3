// The base of every class that owns what must not be duplicated (a socket,
// an SSL object, a thread, a statement, a transaction, a server process): a
// copy is refused at compile time and, as nothing declares a move, a move
// too, so such an object stays where it was built.
#pragma once

namespace migcheck {

class NonCopyable {
 public:
  NonCopyable() = default;
  NonCopyable(const NonCopyable&) = delete;
  NonCopyable& operator=(const NonCopyable&) = delete;
};

}  // namespace migcheck
