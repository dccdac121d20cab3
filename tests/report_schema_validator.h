// A JSON Schema validator for the subset report.schema.json uses: type,
// const, enum, required, properties, additionalProperties, items, oneOf,
// minimum and local $ref ("#/$defs/..."). Keywords outside the subset are
// reported as errors rather than ignored, so the schema cannot silently
// promise more than the tests check.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace migcheck::test {

// Violations as "<JSON pointer>: <message>"; empty when `doc` is valid.
std::vector<std::string> validate_against_schema(const nlohmann::json& schema,
                                                 const nlohmann::json& doc);

}  // namespace migcheck::test
