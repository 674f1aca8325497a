#ifndef OFFSITE_CTOMLSHIM_H
#define OFFSITE_CTOMLSHIM_H

/* A C view of Debian's toml++ (libtomlplusplus-dev, header-only, TOML 1.0): the document is
 * parsed in C++ and handed to Swift as a flat, pre-order list of plain nodes. No C++ type and
 * no C++ exception crosses this boundary (toml++ is built with TOML_EXCEPTIONS=0, and every
 * entry point catches anything else, such as std::bad_alloc, and reports it as a failure). */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CTOML_TABLE = 0,
    CTOML_ARRAY = 1,
    CTOML_STRING = 2,
    CTOML_INTEGER = 3,
    CTOML_FLOAT = 4,
    CTOML_BOOLEAN = 5,
    CTOML_DATE = 6,
    CTOML_TIME = 7,
    CTOML_DATE_TIME = 8,
} ctoml_kind;

/* One value. A table's or an array's `count` children follow it directly (each with its own
 * children), so the list is the tree in pre-order. Lines and columns are 1-based; 0 when unknown. */
typedef struct {
    int32_t kind;
    uint32_t count;
    uint32_t line, column;
    /* The member's name within its table (NULL for array elements and for the root table),
     * and where that name was first written. Not NUL-terminated: use key_length. */
    const char *key;
    size_t key_length;
    uint32_t key_line, key_column;
    /* Strings (UTF-8, may hold NUL) and dates/times as RFC 3339 text. */
    const char *text;
    size_t text_length;
    int64_t integer;
    double real;
    int32_t boolean;
} ctoml_node;

typedef struct ctoml_document ctoml_document;

/* Parses `length` bytes of `text`. Returns NULL only when memory ran out. */
ctoml_document *ctoml_parse(const char *text, size_t length);

/* Why a document was refused (ctoml_error_reason). */
typedef enum {
    CTOML_ERROR_NONE = 0,
    /* Not valid TOML 1.0: toml++'s description says why. */
    CTOML_ERROR_SYNTAX = 1,
    /* A table header whose name starts with a character no key can start with (`[:x]`). */
    CTOML_ERROR_TABLE_HEADER = 2,
    /* One of toml++'s own consistency checks failed on malformed input. */
    CTOML_ERROR_PARSER_CHECK = 3,
    /* A value of a type this shim does not hand over. */
    CTOML_ERROR_VALUE_TYPE = 4,
    /* Memory ran out (or C++ threw anything else). */
    CTOML_ERROR_OUT_OF_MEMORY = 5,
} ctoml_error_kind;

/* Non-zero when the text is not valid TOML (or could not be processed); then the nodes are empty
 * and the error says why (ctoml_error_reason; for CTOML_ERROR_SYNTAX toml++'s description, else
 * an empty description: the caller words it) and where. */
int ctoml_failed(const ctoml_document *document);
int32_t ctoml_error_reason(const ctoml_document *document);
const char *ctoml_error_description(const ctoml_document *document);
uint32_t ctoml_error_line(const ctoml_document *document);
uint32_t ctoml_error_column(const ctoml_document *document);

size_t ctoml_node_count(const ctoml_document *document);
const ctoml_node *ctoml_nodes(const ctoml_document *document);

void ctoml_free(ctoml_document *document);

/* The toml++ version compiled in, "3.3.0". */
const char *ctoml_library_version(void);

#ifdef __cplusplus
}
#endif

#endif
