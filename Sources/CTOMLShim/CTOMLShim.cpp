// toml++ behind a C interface; see include/CTOMLShim.h.
#include "CTOMLShim.h"

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
    uint32_t error_line = 0, error_column = 0;
    bool failed = false;
};

namespace {

uint32_t clamp(tomlpp::source_index index) { return static_cast<uint32_t>(index); }

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
    out.line = clamp(node.source().begin.line);
    out.column = clamp(node.source().begin.column);
    if (key) {
        out.key = key->str().data();
        out.key_length = key->str().size();
        out.key_line = clamp(key->source().begin.line);
        out.key_column = clamp(key->source().begin.column);
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
        out.kind = CTOML_STRING;
        break;
    }
    if (out.kind == CTOML_DATE || out.kind == CTOML_TIME || out.kind == CTOML_DATE_TIME) {
        out.text = doc.texts.back().data();
        out.text_length = doc.texts.back().size();
    }
    doc.nodes.push_back(out);
}

}  // namespace

extern "C" {

ctoml_document *ctoml_parse(const char *text, size_t length) {
    ctoml_document *doc = new (std::nothrow) ctoml_document();
    if (!doc) return nullptr;
    try {
        auto result = tomlpp::parse(std::string_view(text ? text : "", text ? length : 0));
        if (!result) {
            const auto &error = result.error();
            doc->failed = true;
            doc->error = std::string(error.description());
            doc->error_line = clamp(error.source().begin.line);
            doc->error_column = clamp(error.source().begin.column);
            return doc;
        }
        doc->root = std::move(result).table();
        append(*doc, doc->root, nullptr);
    } catch (...) {
        // Out of memory, or anything else C++ might throw: never let it reach Swift.
        doc->nodes.clear();
        doc->failed = true;
        doc->error_line = 0;
        doc->error_column = 0;
        try {
            doc->error = "the TOML document could not be processed (out of memory)";
        } catch (...) {
        }
    }
    return doc;
}

int ctoml_failed(const ctoml_document *doc) { return doc->failed ? 1 : 0; }
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
