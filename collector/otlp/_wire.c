/* SPDX-License-Identifier: Apache-2.0
 *
 * A protobuf well-formedness check in C: walks a serialized message against a table of its types (made from the
 * installed protobuf descriptors by `wire.py`) without building anything, and says whether upb would parse it.
 *
 * The receivers used to parse every OTLP trace request with upb (`ExportTraceServiceRequest.FromString`) only to
 * refuse a malformed one: the collector reads a request's spans from its bytes (`_read_spans.c`) and forwards the
 * bytes as they came, so the parsed message was thrown away. This check does that refusal's work in a fraction
 * of the time. It is one-sided on purpose: it answers "well-formed" only for what upb certainly accepts (every
 * tag and length in bounds, each known field in its declared wire type, message fields well-formed in turn,
 * string fields valid UTF-8, unknown fields skipped), and "not sure" for everything else: malformed input and
 * the legal but unusual (a group, a packed repeated scalar, a known field in another wire type, nesting deeper
 * than MAX_DEPTH, a varint of more than 64 bits). The caller then parses with upb, which accepts it or raises its
 * error: so the collector accepts and refuses exactly what it did, and tests/collector/otlp/test_wire.py holds
 * the two to the same verdict on mutated requests.
 *
 * schema(types, count_type, count_field, mark_type, mark_field, prefixes) -> capsule
 *   types:  per message type, a tuple of (field number, kind, message type index or -1) per field; type 0 is
 *           the top-level message. A repeated scalar field is declared as the scalar: packed, it is left to upb.
 *   count:  the occurrences of field `count_field` in messages of type `count_type` are counted (the spans);
 *   mark:   and whether a string field `mark_field` of a `mark_type` message starts with one of `prefixes` (an
 *           attribute key that may mark an LLM call), found while its UTF-8 is checked.
 * check(body, schema) -> (count, marked) | None
 *   when `body` is certainly well-formed, else None.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "protowire.h"

enum { KIND_UNKNOWN, KIND_MESSAGE, KIND_STRING, KIND_BYTES, KIND_VARINT, KIND_FIXED64, KIND_FIXED32 };
#define MAX_DEPTH 64 /* upb's limit is 100 message levels: deeper than this is left to it */
#define MAX_FIELD 255 /* the highest field number a type's table holds: OTLP's are all below it */

typedef struct {
    uint8_t kind;
    int16_t type; /* the message type of a KIND_MESSAGE field */
} Field;

typedef struct {
    uint32_t max;  /* the highest field number in `fields` */
    int high;      /* the type declares a field numbered above MAX_FIELD: any number above `max` is left to upb */
    Field *fields; /* indexed by field number, 0..max; KIND_UNKNOWN where the type has no such field */
} Type;

#define MAX_PREFIXES 8

typedef struct {
    Py_ssize_t count;
    Type *types;
    Py_ssize_t count_type;
    uint32_t count_field;
    Py_ssize_t mark_type;
    uint32_t mark_field;
    int prefixes;
    char prefix[MAX_PREFIXES][32];
    size_t prefix_length[MAX_PREFIXES];
} Schema;

typedef struct {
    Py_ssize_t count;
    int marked;
} Found;

static int starts_with_a_prefix(const Schema *schema, const uint8_t *p, size_t length) {
    for (int i = 0; i < schema->prefixes; i++)
        if (length >= schema->prefix_length[i] && memcmp(p, schema->prefix[i], schema->prefix_length[i]) == 0)
            return 1;
    return 0;
}

/* Valid UTF-8 as upb checks it: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const uint8_t *p, const uint8_t *end) {
    while (p < end) {
        while (end - p >= 8) { /* ASCII, eight bytes at a time */
            uint64_t word;
            memcpy(&word, p, 8);
            if (word & 0x8080808080808080ULL) break;
            p += 8;
        }
        if (p == end) return 1;
        uint8_t byte = *p;
        if (byte < 0x80) {
            p++;
            continue;
        }
        Py_ssize_t left = end - p;
        if (byte >= 0xC2 && byte <= 0xDF) {
            if (left < 2 || (p[1] & 0xC0) != 0x80) return 0;
            p += 2;
        } else if (byte >= 0xE0 && byte <= 0xEF) {
            if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
            if (byte == 0xE0 && p[1] < 0xA0) return 0; /* overlong */
            if (byte == 0xED && p[1] > 0x9F) return 0; /* a surrogate */
            p += 3;
        } else if (byte >= 0xF0 && byte <= 0xF4) {
            if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
            if (byte == 0xF0 && p[1] < 0x90) return 0; /* overlong */
            if (byte == 0xF4 && p[1] > 0x8F) return 0; /* above U+10FFFF */
            p += 4;
        } else {
            return 0;
        }
    }
    return 1;
}

/* 1 when the message of type `type` in `c` is certainly well-formed (adding what it holds to *found). */
static int check_message(const Schema *schema, Py_ssize_t type, Cursor c, int depth, Found *found) {
    const Type *t = &schema->types[type];
    int counting = type == schema->count_type;
    int marking = type == schema->mark_type;
    while (c.p < c.end) {
        uint64_t tag;
        if (!read_varint(&c, &tag) || tag > UINT32_MAX || (tag >> 3) == 0) return 0;
        uint32_t number = (uint32_t)(tag >> 3);
        if (number > t->max && t->high) return 0;
        const Field *field = number <= t->max ? &t->fields[number] : NULL;
        int kind = field ? field->kind : KIND_UNKNOWN;
        uint64_t scalar;
        switch (tag & 7) {
        case WIRE_VARINT:
            if ((kind != KIND_UNKNOWN && kind != KIND_VARINT) || !read_varint(&c, &scalar)) return 0;
            break;
        case WIRE_FIXED64:
            if ((kind != KIND_UNKNOWN && kind != KIND_FIXED64) || c.end - c.p < 8) return 0;
            c.p += 8;
            break;
        case WIRE_FIXED32:
            if ((kind != KIND_UNKNOWN && kind != KIND_FIXED32) || c.end - c.p < 4) return 0;
            c.p += 4;
            break;
        case WIRE_LEN: {
            uint64_t length;
            if (!read_varint(&c, &length) || length > (uint64_t)(c.end - c.p)) return 0;
            Cursor body = {c.p, c.p + length};
            c.p += length;
            if (kind == KIND_MESSAGE) {
                if (depth >= MAX_DEPTH || !check_message(schema, field->type, body, depth + 1, found)) return 0;
                if (counting && number == schema->count_field) found->count++;
            } else if (kind == KIND_STRING) {
                if (!valid_utf8(body.p, body.end)) return 0;
                if (marking && number == schema->mark_field && !found->marked)
                    found->marked = starts_with_a_prefix(schema, body.p, (size_t)(body.end - body.p));
            } else if (kind != KIND_BYTES && kind != KIND_UNKNOWN) {
                return 0; /* a packed repeated scalar, or a scalar in the wrong wire type */
            }
            break;
        }
        default:
            return 0; /* a group (never OTLP's) or no wire type at all */
        }
    }
    return 1;
}

static void free_schema(PyObject *capsule) {
    Schema *schema = PyCapsule_GetPointer(capsule, "llmledger.wire.schema");
    if (schema == NULL) return;
    for (Py_ssize_t i = 0; i < schema->count; i++) PyMem_Free(schema->types[i].fields);
    PyMem_Free(schema->types);
    PyMem_Free(schema);
}

static PyObject *make_schema(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *types, *prefixes;
    Py_ssize_t count_type, mark_type;
    unsigned int count_field, mark_field;
    if (!PyArg_ParseTuple(args, "O!nInIO!", &PyTuple_Type, &types, &count_type, &count_field, &mark_type,
                          &mark_field, &PyTuple_Type, &prefixes))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(types);
    if (count == 0 || count > INT16_MAX || count_type < 0 || count_type >= count || mark_type < 0 ||
        mark_type >= count) {
        PyErr_SetString(PyExc_ValueError, "a schema needs 1 to 32767 types, the counted and marked among them");
        return NULL;
    }
    if (PyTuple_GET_SIZE(prefixes) > MAX_PREFIXES) {
        PyErr_SetString(PyExc_ValueError, "at most 8 prefixes");
        return NULL;
    }
    Schema *schema = PyMem_Calloc(1, sizeof(Schema));
    if (schema == NULL) return PyErr_NoMemory();
    schema->types = PyMem_Calloc((size_t)count, sizeof(Type));
    if (schema->types == NULL) {
        PyMem_Free(schema);
        return PyErr_NoMemory();
    }
    schema->count = count;
    schema->count_type = count_type;
    schema->count_field = count_field;
    schema->mark_type = mark_type;
    schema->mark_field = mark_field;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(prefixes); i++) {
        PyObject *prefix = PyTuple_GET_ITEM(prefixes, i);
        if (!PyBytes_Check(prefix) || PyBytes_GET_SIZE(prefix) == 0 || PyBytes_GET_SIZE(prefix) > 32) {
            PyMem_Free(schema->types);
            PyMem_Free(schema);
            PyErr_SetString(PyExc_ValueError, "a prefix is 1 to 32 bytes");
            return NULL;
        }
        memcpy(schema->prefix[i], PyBytes_AS_STRING(prefix), (size_t)PyBytes_GET_SIZE(prefix));
        schema->prefix_length[i] = (size_t)PyBytes_GET_SIZE(prefix);
        schema->prefixes++;
    }
    PyObject *capsule = PyCapsule_New(schema, "llmledger.wire.schema", free_schema);
    if (capsule == NULL) {
        PyMem_Free(schema->types);
        PyMem_Free(schema);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *fields = PyTuple_GET_ITEM(types, i);
        if (!PyTuple_Check(fields)) goto bad;
        unsigned int max = 0;
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(fields); j++) {
            unsigned int number;
            int kind, type;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(fields, j), "Iii", &number, &kind, &type)) goto bad;
            if (number <= MAX_FIELD && number > max) max = number;
            if (number > MAX_FIELD) schema->types[i].high = 1;
        }
        schema->types[i].max = max;
        schema->types[i].fields = PyMem_Calloc(max + 1, sizeof(Field));
        if (schema->types[i].fields == NULL) {
            Py_DECREF(capsule);
            return PyErr_NoMemory();
        }
        for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(fields); j++) {
            unsigned int number;
            int kind, type;
            PyArg_ParseTuple(PyTuple_GET_ITEM(fields, j), "Iii", &number, &kind, &type);
            if (number == 0 || number > MAX_FIELD) continue; /* see `high` */
            if (kind < KIND_UNKNOWN || kind > KIND_FIXED32 || (kind == KIND_MESSAGE && (type < 0 || type >= count)))
                goto bad;
            schema->types[i].fields[number] = (Field){(uint8_t)kind, (int16_t)type};
        }
    }
    return capsule;
bad:
    Py_DECREF(capsule);
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a schema type is a tuple of (number, kind, type)");
    return NULL;
}

static PyObject *check(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer body;
    PyObject *capsule;
    if (!PyArg_ParseTuple(args, "y*O", &body, &capsule)) return NULL;
    Schema *schema = PyCapsule_GetPointer(capsule, "llmledger.wire.schema");
    if (schema == NULL) {
        PyBuffer_Release(&body);
        return NULL;
    }
    Found found = {0, 0};
    Cursor c = {body.buf, (const uint8_t *)body.buf + body.len};
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = check_message(schema, 0, c, 0, &found);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&body);
    if (!ok) Py_RETURN_NONE;
    return Py_BuildValue("(nO)", found.count, found.marked ? Py_True : Py_False);
}

static PyMethodDef methods[] = {
    {"schema", make_schema, METH_VARARGS, "A message's types as check() walks them."},
    {"check", check, METH_VARARGS, "(count, marked) of a certainly well-formed message, else None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, .m_name = "_wire", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__wire(void) { return PyModule_Create(&module); }
