// Internal to the KeyReader (reader.cc, reader_stream.cc): the per-key read
// state behind the pipelined steps. Not for other users of reader.h.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "digest.h"
#include "hash_field_ttl.h"
#include "reader.h"
#include "spill_set.h"
#include "vectorset_reader.h"

namespace migcheck {

// The smallest stream id greater than `id` ("ms-seq"): XRANGE/XPENDING pages
// start there, which also works on servers without the "(" exclusive form.
std::string next_stream_id(std::string_view id);

// Paging state of a stream whose entries or PELs did not fit in XINFO's COUNT.
struct StreamWork {
  StreamDigest digest;
  int64_t length = 0;
  std::string last_entry_id;
  bool entries_done = false;
  struct GroupPage {
    std::string name;
    std::string last_id;
    uint64_t expected = 0;
    bool done = false;
  };
  std::vector<GroupPage> groups;
  std::vector<size_t> step_groups;  // groups paged in the step in flight
};

// One key's read in progress, reused across batches.
struct KeyReader::Work {
  // FieldTtl: the last HPEXPIRETIME of a hash whose fields are all read.
  enum class Phase : uint8_t { Meta, First, More, VerifyEmpty, FieldTtl, Done };
  Phase phase = Phase::Meta;
  size_t cmd_first = 0;
  size_t cmd_count = 0;
  int64_t size = 0;  // size, once known (size_known)
  bool size_known = false;
  int64_t pos = 0;      // next index / byte offset
  int64_t request = 0;  // bytes asked for by the string window in flight
  std::string cursor;
  std::string boundary;        // last list element / zset member read
  std::string boundary_score;  // and its score
  bool dedupe = false;
  CollectionDigest coll;
  std::unique_ptr<StringDigest> str;
  std::unique_ptr<StreamWork> stream;
  std::unique_ptr<VectorSetRead> vset;   // vector sets: semantic digest (vectorset_reader.h)
  std::unique_ptr<FieldExpiryRead> hfe;  // hashes on Redis 7.4+: field expiries (hash_field_ttl.h)
  DistinctDigests seen;                  // element digests of a hash or set read with *SCAN

  void reset() {
    phase = Phase::Meta;
    cmd_count = 0;
    size = pos = request = 0;
    size_known = false;
    cursor.clear();
    dedupe = false;
    coll.reset(ValueKind::List);
    str.reset();
    stream.reset();
    vset.reset();
    hfe.reset();
    seen.clear();
  }
};

}  // namespace migcheck
