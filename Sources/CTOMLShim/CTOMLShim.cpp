// toml++ behind a C interface; see include/CTOMLShim.h.
#include "CTOMLShim.h"

#include <exception>

// toml++ 3.3 checks its own invariants with TOML_ASSERT / TOML_ASSERT_ASSUME, and some of those
// checks are reachable from malformed input (`make fuzz` found a table header `[[:rr]]` in
// parse_key and a time `T'''32:00Z` in parse_time): with assert() they abort the agent, with
// NDEBUG they become compiler assumptions (undefined behaviour). Here a failed check throws
// instead; the parse is abandoned, caught in ctoml_parse and reported as malformed TOML. NDEBUG
// is cleared so that TOML_ASSERT_ASSUME means this check, never an assumption.
namespace {
struct toml_check_failed : std::exception {
    const char *what() const noexcept override { return "toml++ check failed"; }
};
[[noreturn]] void toml_check_failure() { throw toml_check_failed(); }
}  // namespace
#undef NDEBUG
#define TOML_ASSERT(expr) ((expr) ? static_cast<void>(0) : toml_check_failure())

#define TOML_EXCEPTIONS 0
#define TOML_HEADER_ONLY 1
#define TOML_ENABLE_FORMATTERS 0
#define TOML_ENABLE_UNRELEASED_FEATURES 0
// A private namespace name: a test binary may also link another toml++ copy (TOMLKit's), and two
// versions' inline functions must never be merged by the linker.
#define toml offsite_toml
#include <toml++/toml.h>
#undef toml

#include <cstdio>
#include <deque>
#include <new>
#include <string>
#include <vector>

namespace tomlpp = offsite_toml;

struct ctoml_document {
    tomlpp::table root;
    std::vector<ctoml_node> nodes;
    std::deque<std::string> texts;  // formatted dates; a deque keeps each string where it is
    std::string error;
    ctoml_error_kind error_kind = CTOML_ERROR_NONE;
    uint32_t error_line = 0, error_column = 0;
    bool failed = false;
};

namespace {

// toml++'s lines and columns are uint32_t already: handed over as they are.
static_assert(sizeof(tomlpp::source_index) <= sizeof(uint32_t), "toml++ source positions no longer fit ctoml_node's uint32_t");
uint32_t position(tomlpp::source_index index) { return index; }

std::string two(unsigned value) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "%02u", value % 100u);
    return buffer;
}

std::string format(const tomlpp::date &d) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%04u-%02u-%02u", unsigned(d.year), unsigned(d.month), unsigned(d.day));
    return buffer;
}

std::string format(const tomlpp::time &t) {
    std::string text = two(t.hour) + ":" + two(t.minute) + ":" + two(t.second);
    if (t.nanosecond != 0) {
        char buffer[16];
        std::snprintf(buffer, sizeof buffer, ".%09u", unsigned(t.nanosecond));
        text += buffer;
    }
    return text;
}

std::string format(const tomlpp::date_time &dt) {
    std::string text = format(dt.date) + "T" + format(dt.time);
    if (dt.offset) {
        int minutes = dt.offset->minutes;
        if (minutes == 0) return text + "Z";
        text += minutes < 0 ? "-" : "+";
        if (minutes < 0) minutes = -minutes;
        text += two(unsigned(minutes / 60)) + ":" + two(unsigned(minutes % 60));
    }
    return text;
}

void append(ctoml_document &doc, const tomlpp::node &node, const tomlpp::key *key) {
    ctoml_node out{};
    out.line = position(node.source().begin.line);
    out.column = position(node.source().begin.column);
    if (key) {
        out.key = key->str().data();
        out.key_length = key->str().size();
        out.key_line = position(key->source().begin.line);
        out.key_column = position(key->source().begin.column);
    }
    switch (node.type()) {
    case tomlpp::node_type::table: {
        auto &table = *node.as_table();
        out.kind = CTOML_TABLE;
        out.count = static_cast<uint32_t>(table.size());
        doc.nodes.push_back(out);
        for (auto &&[k, v] : table) append(doc, v, &k);
        return;
    }
    case tomlpp::node_type::array: {
        auto &array = *node.as_array();
        out.kind = CTOML_ARRAY;
        out.count = static_cast<uint32_t>(array.size());
        doc.nodes.push_back(out);
        for (auto &&element : array) append(doc, element, nullptr);
        return;
    }
    case tomlpp::node_type::string: {
        const std::string &s = node.as_string()->get();
        out.kind = CTOML_STRING;
        out.text = s.data();
        out.text_length = s.size();
        break;
    }
    case tomlpp::node_type::integer:
        out.kind = CTOML_INTEGER;
        out.integer = node.as_integer()->get();
        break;
    case tomlpp::node_type::floating_point:
        out.kind = CTOML_FLOAT;
        out.real = node.as_floating_point()->get();
        break;
    case tomlpp::node_type::boolean:
        out.kind = CTOML_BOOLEAN;
        out.boolean = node.as_boolean()->get() ? 1 : 0;
        break;
    case tomlpp::node_type::date:
        out.kind = CTOML_DATE;
        doc.texts.push_back(format(node.as_date()->get()));
        break;
    case tomlpp::node_type::time:
        out.kind = CTOML_TIME;
        doc.texts.push_back(format(node.as_time()->get()));
        break;
    case tomlpp::node_type::date_time:
        out.kind = CTOML_DATE_TIME;
        doc.texts.push_back(format(node.as_date_time()->get()));
        break;
    default:
        // A value type this shim does not know (none in TOML 1.0; a later toml++ might add one):
        // the document is refused, never handed to Swift as an empty string.
        if (!doc.failed) {
            doc.failed = true;
            doc.error_kind = CTOML_ERROR_VALUE_TYPE;
            doc.error_line = out.line;
            doc.error_column = out.column;
        }
        return;
    }
    if (out.kind == CTOML_DATE || out.kind == CTOML_TIME || out.kind == CTOML_DATE_TIME) {
        out.text = doc.texts.back().data();
        out.text_length = doc.texts.back().size();
    }
    doc.nodes.push_back(out);
}

// toml++ 3.3 (Debian bookworm) asserts, and with NDEBUG assumes, that a table header's key starts
// with a bare-key character or a quote: `[:x]` or `[[ +y ]]` aborts the process (found by
// `make fuzz`). Such a header is refused here first. A small lexer skips comments, strings
// (one-line and multi-line) and value arrays/inline tables, so a '[' is judged only where a
// header can start: first on its line, outside any value.
bool bad_table_header(const char *text, size_t length, uint32_t &line, uint32_t &column) {
    auto bare = [](unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    };
    size_t i = 0, line_start = 0;
    uint32_t ln = 1;
    int depth = 0;  // open '[' / '{' of values
    bool at_line_start = true;
    while (i < length) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            ++i;
            ++ln;
            line_start = i;
            at_line_start = true;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            ++i;
            continue;
        }
        if (at_line_start && depth == 0 && c == '[') {
            size_t j = i + 1;
            if (j < length && text[j] == '[') ++j;
            while (j < length && (text[j] == ' ' || text[j] == '\t')) ++j;
            if (j < length) {
                unsigned char k = static_cast<unsigned char>(text[j]);
                if (!bare(k) && k != '"' && k != '\'' && k != ']') {
                    line = ln;
                    column = static_cast<uint32_t>(j - line_start + 1);
                    return true;
                }
            }
            // A header: skip to its end (its own brackets and quoted keys are not values).
            while (i < length && text[i] != '\n') ++i;
            continue;
        }
        at_line_start = false;
        if (c == '#') {
            while (i < length && text[i] != '\n') ++i;
            continue;
        }
        if (c == '"' || c == '\'') {
            bool multi = i + 2 < length && text[i + 1] == static_cast<char>(c) && text[i + 2] == static_cast<char>(c);
            i += multi ? 3 : 1;
            while (i < length) {
                unsigned char d = static_cast<unsigned char>(text[i]);
                if (c == '"' && d == '\\') {
                    i += 2;
                    continue;
                }
                if (d == '\n') {
                    if (!multi) break;  // an unterminated one-line string: toml++ reports it
                    ++ln;
                    line_start = i + 1;
                }
                if (d == c && (!multi || (i + 2 < length && text[i + 1] == static_cast<char>(c) && text[i + 2] == static_cast<char>(c)))) {
                    i += multi ? 3 : 1;
                    // A multi-line string may end with up to two more quotes.
                    while (multi && i < length && text[i] == static_cast<char>(c)) ++i;
                    break;
                }
                ++i;
            }
            continue;
        }
        if (c == '[' || c == '{') ++depth;
        if ((c == ']' || c == '}') && depth > 0) --depth;
        ++i;
    }
    return false;
}

}  // namespace

extern "C" {

ctoml_document *ctoml_parse(const char *text, size_t length) {
    ctoml_document *doc = new (std::nothrow) ctoml_document();
    if (!doc) return nullptr;
    try {
        uint32_t line = 0, column = 0;
        if (text && bad_table_header(text, length, line, column)) {
            doc->failed = true;
            doc->error_kind = CTOML_ERROR_TABLE_HEADER;
            doc->error_line = line;
            doc->error_column = column;
            return doc;
        }
        auto result = tomlpp::parse(std::string_view(text ? text : "", text ? length : 0));
        if (!result) {
            const auto &error = result.error();
            doc->failed = true;
            doc->error_kind = CTOML_ERROR_SYNTAX;
            doc->error = std::string(error.description());
            doc->error_line = position(error.source().begin.line);
            doc->error_column = position(error.source().begin.column);
            return doc;
        }
        doc->root = std::move(result).table();
        append(*doc, doc->root, nullptr);
        if (doc->failed) doc->nodes.clear();
    } catch (const toml_check_failed &) {
        doc->nodes.clear();
        doc->failed = true;
        doc->error_kind = CTOML_ERROR_PARSER_CHECK;
        doc->error_line = 0;
        doc->error_column = 0;
    } catch (...) {
        // Out of memory, or anything else C++ might throw: never let it reach Swift.
        doc->nodes.clear();
        doc->failed = true;
        doc->error_kind = CTOML_ERROR_OUT_OF_MEMORY;
        doc->error_line = 0;
        doc->error_column = 0;
    }
    return doc;
}

int ctoml_failed(const ctoml_document *doc) { return doc->failed ? 1 : 0; }
int32_t ctoml_error_reason(const ctoml_document *doc) { return doc->failed ? doc->error_kind : CTOML_ERROR_NONE; }
const char *ctoml_error_description(const ctoml_document *doc) { return doc->error.c_str(); }
uint32_t ctoml_error_line(const ctoml_document *doc) { return doc->error_line; }
uint32_t ctoml_error_column(const ctoml_document *doc) { return doc->error_column; }
size_t ctoml_node_count(const ctoml_document *doc) { return doc->nodes.size(); }
const ctoml_node *ctoml_nodes(const ctoml_document *doc) { return doc->nodes.data(); }
void ctoml_free(ctoml_document *doc) { delete doc; }

const char *ctoml_library_version(void) {
#define CTOML_STR2(x) #x
#define CTOML_STR(x) CTOML_STR2(x)
    return CTOML_STR(TOML_LIB_MAJOR) "." CTOML_STR(TOML_LIB_MINOR) "." CTOML_STR(TOML_LIB_PATCH);
}

}  // extern "C"
