// The subset JSON Schema validator of the report tests.
#include "report_schema_validator.h"

#include <set>

namespace migcheck::test {
namespace {

using nlohmann::json;

// Annotations and containers that carry no assertion of their own.
const std::set<std::string> kIgnored = {"$schema", "$id",         "$defs",    "$comment",
                                        "title",   "description", "examples", "default"};
const std::set<std::string> kSupported = {
    "type",  "const", "enum",    "required", "properties", "additionalProperties",
    "items", "oneOf", "minimum", "$ref"};

class Validator {
 public:
  explicit Validator(const json& root) : root_(root) {}

  void check(const json& schema, const json& doc, const std::string& where,
             std::vector<std::string>& errors) const {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) errors.push_back(where + ": not allowed here");
      return;
    }
    if (!schema.is_object()) {
      errors.push_back(where + ": schema is neither an object nor a boolean");
      return;
    }
    for (const auto& [k, _] : schema.items())
      if (!kIgnored.count(k) && !kSupported.count(k))
        errors.push_back(where + ": unsupported schema keyword " + k);

    if (auto it = schema.find("$ref"); it != schema.end())
      check(resolve(it->get<std::string>()), doc, where, errors);
    if (auto it = schema.find("type"); it != schema.end() && !type_matches(*it, doc))
      errors.push_back(where + ": expected type " + it->dump() + ", got " + doc.type_name());
    if (auto it = schema.find("const"); it != schema.end() && *it != doc)
      errors.push_back(where + ": expected " + it->dump() + ", got " + doc.dump());
    if (auto it = schema.find("enum"); it != schema.end()) {
      bool found = false;
      for (const auto& v : *it) found = found || v == doc;
      if (!found) errors.push_back(where + ": " + doc.dump() + " is not one of " + it->dump());
    }
    if (auto it = schema.find("minimum");
        it != schema.end() && doc.is_number() && doc.get<double>() < it->get<double>())
      errors.push_back(where + ": " + doc.dump() + " is below the minimum " + it->dump());
    if (doc.is_object()) check_object(schema, doc, where, errors);
    if (auto it = schema.find("items"); it != schema.end() && doc.is_array())
      for (size_t i = 0; i < doc.size(); ++i)
        check(*it, doc[i], where + "/" + std::to_string(i), errors);
    if (auto it = schema.find("oneOf"); it != schema.end()) {
      int matches = 0;
      for (const auto& branch : *it) {
        std::vector<std::string> branch_errors;
        check(branch, doc, where, branch_errors);
        matches += branch_errors.empty();
      }
      if (matches != 1)
        errors.push_back(where + ": matches " + std::to_string(matches) +
                         " oneOf branches, not exactly 1");
    }
  }

 private:
  void check_object(const json& schema, const json& doc, const std::string& where,
                    std::vector<std::string>& errors) const {
    if (auto it = schema.find("required"); it != schema.end())
      for (const auto& name : *it)
        if (!doc.contains(name.get<std::string>()))
          errors.push_back(where + ": missing required " + name.get<std::string>());
    const json* props = nullptr;
    if (auto it = schema.find("properties"); it != schema.end()) props = &*it;
    auto additional = schema.find("additionalProperties");
    for (const auto& [name, value] : doc.items()) {
      std::string at = where + "/" + name;
      if (props && props->contains(name))
        check((*props)[name], value, at, errors);
      else if (additional != schema.end())
        check(*additional, value, at, errors);
    }
  }

  static bool type_matches(const json& type, const json& doc) {
    if (type.is_array()) {
      for (const auto& t : type)
        if (type_matches(t, doc)) return true;
      return false;
    }
    const std::string t = type.get<std::string>();
    if (t == "object") return doc.is_object();
    if (t == "array") return doc.is_array();
    if (t == "string") return doc.is_string();
    if (t == "boolean") return doc.is_boolean();
    if (t == "null") return doc.is_null();
    if (t == "number") return doc.is_number();
    if (t == "integer") return doc.is_number_integer();
    return false;
  }

  const json& resolve(const std::string& ref) const {
    if (ref.rfind("#/", 0) != 0) throw std::runtime_error("only local $refs are supported: " + ref);
    return root_.at(json::json_pointer(ref.substr(1)));
  }

  const json& root_;
};

}  // namespace

std::vector<std::string> validate_against_schema(const nlohmann::json& schema,
                                                 const nlohmann::json& doc) {
  std::vector<std::string> errors;
  Validator(schema).check(schema, doc, "", errors);
  return errors;
}

}  // namespace migcheck::test
