// NonCopyable: the classes that own a socket, an SSL object, a thread, a
// statement or a transaction can be neither copied nor moved, so no second
// owner of the same resource can be made by accident.
#include "noncopyable.h"

#include <catch2/catch_test_macros.hpp>

#include <type_traits>

#include "client.h"
#include "connection.h"
#include "copier.h"
#include "resp.h"
#include "run.h"
#include "store.h"
#include "work_queue.h"

using namespace migcheck;

namespace {

template <typename T>
constexpr bool pinned = !std::is_copy_constructible_v<T> && !std::is_copy_assignable_v<T> &&
                        !std::is_move_constructible_v<T> && !std::is_move_assignable_v<T>;

struct Owner : NonCopyable {
  int handle = -1;
};

}  // namespace

TEST_CASE("noncopyable: a class deriving from it is neither copied nor moved") {
  STATIC_REQUIRE(pinned<NonCopyable>);
  STATIC_REQUIRE(pinned<Owner>);
  // It stays default-constructible, and an aggregate: Owner{} still builds.
  STATIC_REQUIRE(std::is_default_constructible_v<Owner>);
  CHECK(Owner{}.handle == -1);
}

TEST_CASE("noncopyable: the resource owners are pinned where they were built") {
  STATIC_REQUIRE(pinned<Connection>);
  STATIC_REQUIRE(pinned<Client>);
  STATIC_REQUIRE(pinned<ReplyParser>);
  STATIC_REQUIRE(pinned<Store>);
  STATIC_REQUIRE(pinned<Run>);
  STATIC_REQUIRE(pinned<Copier>);
  STATIC_REQUIRE(pinned<WorkQueue<int>>);
}
