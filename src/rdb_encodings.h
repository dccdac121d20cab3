// Decoders of the compact blobs a snapshot stores inside string objects:
// ziplist, listpack, intset and zipmap. Each walks the blob once and hands
// every element to a callback as bytes (integers as their decimal text, as a
// server returns them), without building a copy of the collection. A
// malformed blob throws RdbError naming the file offset (`base` is the
// blob's offset in the file) and what was expected.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace migcheck {

struct BlobContext {
  std::string_view file;  // file name, for messages
  uint64_t base = 0;      // file offset of the blob's first byte
};

using ElementSink = std::function<void(std::string_view)>;

// Ziplist (lists, hashes and sorted sets before Redis 7; quicklist nodes).
void decode_ziplist(std::string_view blob, const BlobContext& ctx, const ElementSink& sink);
// Listpack (Redis 7+ compact types, quicklist2 nodes, stream nodes).
void decode_listpack(std::string_view blob, const BlobContext& ctx, const ElementSink& sink);
// Intset of 16, 32 or 64-bit integers.
void decode_intset(std::string_view blob, const BlobContext& ctx, const ElementSink& sink);
// Zipmap (hashes before Redis 2.6): field, value, field, value...
void decode_zipmap(std::string_view blob, const BlobContext& ctx, const ElementSink& sink);

enum class BlobFormat { Ziplist, Listpack, Intset, Zipmap };

// The decoder of `format`, for a caller that reads several.
void decode_blob(BlobFormat format, std::string_view blob, const BlobContext& ctx,
                 const ElementSink& sink);

}  // namespace migcheck
