/* SPDX-License-Identifier: Apache-2.0
 *
 * The collector's hot loop in C: reading a serialized ExportTraceServiceRequest straight to each span's fields
 * and the attributes extraction wants, without a Python object per attribute.
 *
 * It is an accelerator of `read_spans.py`, which stays the specification: for every span, `found` here is exactly
 * what `read_spans.EncodedReader` gives for that span's attributes. It only handles the canonical encoding every
 * OTLP SDK writes (each field once, key then value, scalar or array-of-scalar values); anything else is left to the
 * Python readers, for one span (its attributes are returned raw, `found` is None) or for the whole request (`scan`
 * returns None). tests/collector/extract/test_read_spans_in_c.py holds the two to the same results.
 *
 * scan(body, names, custom_prefix[, markers]) -> (resources, scopes) | (resources, scopes, spans) | None
 *   names:     dict of wanted attribute key (bytes) -> key (str)
 *   resources: the serialized Resource of each ResourceSpans (b"" when absent)
 *   scopes:    (resource index, spans, founds) per ScopeSpans, in order; `spans` are ScannedSpan, `founds` the
 *              attribute dict of each span, or None where the Python reader must read `span.attributes`.
 *   markers:   a set of names (values of `names`), one of which a span's attributes must hold to be kept: with it,
 *              a span read here whose `found` holds none of them is counted and left out (no Python object is
 *              made for it: most spans of an app are not LLM calls, and are recognised from their keys alone), and
 *              the result gains the count of every span of the request, those left out included.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "../otlp/protowire.h"

/* Reads one field's tag and, for a length-delimited field, its body into `body`. 0 on malformed input or on a
 * wire type other than varint, fixed64, length-delimited and fixed32 (groups are never valid OTLP). */
static inline __attribute__((always_inline)) int read_field(Cursor *c, uint32_t *number, int *wire, Cursor *body,
                                                            uint64_t *scalar) {
    uint64_t tag;
    if (!read_varint(c, &tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) return 0;
    *number = (uint32_t)(tag >> 3);
    *wire = (int)(tag & 7);
    switch (*wire) {
    case WIRE_VARINT:
        return read_varint(c, scalar);
    case WIRE_FIXED64:
        if (c->end - c->p < 8) return 0;
        memcpy(scalar, c->p, 8); /* little-endian hosts only: see module init */
        c->p += 8;
        return 1;
    case WIRE_FIXED32:
        if (c->end - c->p < 4) return 0;
        c->p += 4;
        return 1;
    case WIRE_LEN: {
        uint64_t length;
        if (!read_varint(c, &length) || length > (uint64_t)(c->end - c->p)) return 0;
        body->p = c->p;
        body->end = c->p + length;
        c->p += length;
        return 1;
    }
    default:
        return 0;
    }
}

/* ---- attribute values --------------------------------------------------------------------------------------- */

enum { VALUE_NONE, VALUE_SET, VALUE_PUNT }; /* no value (skipped), a value, or one only the Python reader reads */

/* An AnyValue holding at most one scalar field, as `values.read` gives it; `array_item` gives "" for an empty
 * one, as `read` does for array items. */
static int scalar_value(Cursor value, PyObject **out, int array_item) {
    if (value.p == value.end) {
        if (!array_item) return VALUE_NONE;
        *out = PyUnicode_FromStringAndSize("", 0);
        return *out ? VALUE_SET : VALUE_PUNT;
    }
    uint32_t number;
    int wire;
    Cursor body;
    uint64_t scalar = 0;
    if (!read_field(&value, &number, &wire, &body, &scalar) || value.p != value.end) return VALUE_PUNT;
    if (number == 1 && wire == WIRE_LEN) { /* string_value: invalid UTF-8 is the Python reader's error to raise */
        *out = PyUnicode_DecodeUTF8((const char *)body.p, body.end - body.p, NULL);
        if (*out == NULL) {
            PyErr_Clear();
            return VALUE_PUNT;
        }
        return VALUE_SET;
    }
    if (number == 2 && wire == WIRE_VARINT) {
        *out = PyBool_FromLong(scalar != 0);
        return VALUE_SET;
    }
    if (number == 3 && wire == WIRE_VARINT) {
        *out = PyLong_FromLongLong((long long)(int64_t)scalar);
        return *out ? VALUE_SET : VALUE_PUNT;
    }
    if (number == 4 && wire == WIRE_FIXED64) {
        double real;
        memcpy(&real, &scalar, 8);
        *out = PyFloat_FromDouble(real);
        return *out ? VALUE_SET : VALUE_PUNT;
    }
    return VALUE_PUNT; /* bytes, map, a nested array, or a field of another type */
}

/* An AnyValue as `values.read` gives it: a scalar, or an array of scalars as a list. */
static int any_value(Cursor value, PyObject **out) {
    Cursor probe = value;
    uint32_t number;
    int wire;
    Cursor array;
    uint64_t scalar;
    if (value.p == value.end || !read_field(&probe, &number, &wire, &array, &scalar) || number != 5) {
        return scalar_value(value, out, 0);
    }
    if (wire != WIRE_LEN || probe.p != probe.end) return VALUE_PUNT;
    PyObject *items = PyList_New(0);
    if (items == NULL) {
        PyErr_Clear();
        return VALUE_PUNT;
    }
    while (array.p < array.end) {
        Cursor item;
        if (!read_field(&array, &number, &wire, &item, &scalar) || number != 1 || wire != WIRE_LEN) goto punt;
        PyObject *element = NULL;
        if (scalar_value(item, &element, 1) != VALUE_SET) goto punt;
        int failed = PyList_Append(items, element);
        Py_DECREF(element);
        if (failed) goto punt;
    }
    *out = items;
    return VALUE_SET;
punt:
    PyErr_Clear();
    Py_DECREF(items);
    return VALUE_PUNT;
}

/* The wanted keys, looked up by their bytes without a Python object per attribute: an open-addressing table over
 * a private copy of the `names` dict (which keeps the keys and names alive for the call). */
typedef struct {
    const char *key;
    Py_ssize_t length;
    PyObject *name; /* borrowed from `owner` */
    int marker;     /* whether `name` is one of the markers */
} Slot;

typedef struct {
    PyObject *owner; /* the copy of `names` */
    Slot *slots;
    size_t mask;
    const char *custom;
    Py_ssize_t custom_length;
    int filtering; /* markers were given: spans without one are left out */
} Wanted;

static uint64_t load8(const uint8_t *bytes, Py_ssize_t length) { /* up to 8 bytes, zero-padded */
    uint64_t word = 0;
    memcpy(&word, bytes, length < 8 ? (size_t)length : 8);
    return word;
}

/* Every attribute key of every span is hashed, so a byte-at-a-time hash (one dependent multiply a byte) would be
 * a visible part of a span's reading. This one mixes the key's length and its first,
 * middle and last eight bytes; two keys alike in all four only cost a probe more, as a slot matches the whole key. */
static uint64_t hash_bytes(const uint8_t *bytes, Py_ssize_t length) {
    uint64_t first = load8(bytes, length);
    uint64_t middle = length > 8 ? load8(bytes + length / 2 - 4, 8) : 0;
    uint64_t last = length > 8 ? load8(bytes + length - 8, 8) : 0;
    uint64_t hash = (first ^ (middle << 21 | middle >> 43) ^ (last << 42 | last >> 22) ^ (uint64_t)length) *
                    0x9E3779B97F4A7C15ULL;
    return hash ^ (hash >> 29);
}

/* 0 and a Python error when `names` is not a dict of bytes to str, `markers` (or NULL) not a set, or memory runs
 * out. */
static int wanted_init(Wanted *wanted, PyObject *names, PyObject *markers) {
    wanted->owner = PyDict_Copy(names);
    if (wanted->owner == NULL) return 0;
    size_t size = 16;
    while (size < 4 * (size_t)PyDict_GET_SIZE(wanted->owner)) size <<= 1;
    wanted->slots = PyMem_Calloc(size, sizeof(Slot));
    if (wanted->slots == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    wanted->mask = size - 1;
    Py_ssize_t position = 0;
    PyObject *key, *name;
    while (PyDict_Next(wanted->owner, &position, &key, &name)) {
        if (!PyBytes_Check(key) || !PyUnicode_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "names must map bytes to str");
            return 0;
        }
        int marker = markers == NULL ? 0 : PySet_Contains(markers, name);
        if (marker < 0) return 0;
        size_t at = hash_bytes((const uint8_t *)PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key)) & wanted->mask;
        while (wanted->slots[at].key != NULL) at = (at + 1) & wanted->mask;
        wanted->slots[at] = (Slot){PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key), name, marker};
    }
    return 1;
}

static void wanted_release(Wanted *wanted) {
    PyMem_Free(wanted->slots);
    Py_XDECREF(wanted->owner);
}

static const Slot *wanted_slot(const Wanted *wanted, const uint8_t *key, Py_ssize_t length) {
    for (size_t at = hash_bytes(key, length) & wanted->mask; wanted->slots[at].key != NULL;
         at = (at + 1) & wanted->mask) {
        const Slot *slot = &wanted->slots[at];
        if (slot->length == length && memcmp(slot->key, key, length) == 0) return slot;
    }
    return NULL;
}

/* A KeyValue in the shape the Python reader's fast path takes: field 1 (the key, shorter than 128 bytes) first,
 * then nothing more or exactly one field 2 (the value, tag 0x12) to the end. 0 for any other shape. */
static int simple_key_value(Cursor kv, const uint8_t **key, Py_ssize_t *key_length, Cursor *value) {
    if (kv.end - kv.p < 2 || kv.p[0] != 0x0A || kv.p[1] >= 0x80) return 0;
    *key = kv.p + 2;
    *key_length = kv.p[1];
    if (*key_length > kv.end - *key) return 0;
    Cursor rest = {*key + *key_length, kv.end};
    *value = (Cursor){rest.end, rest.end};
    if (rest.p < rest.end) {
        if (rest.p[0] != 0x12) return 0;
        uint32_t number;
        int wire;
        uint64_t scalar;
        if (!read_field(&rest, &number, &wire, value, &scalar) || number != 2 || wire != WIRE_LEN ||
            rest.p != rest.end) {
            return 0;
        }
    }
    return 1;
}

/* One serialized KeyValue into `found`, as `read_spans.EncodedReader._decode` reads it; `*marked` set when it
 * puts a marker there. 1 when done (read or skipped), 0 when the span's attributes must go to the Python reader,
 * -1 on a Python error. */
static int read_attribute(Cursor kv, const Wanted *wanted, PyObject *found, int *marked) {
    const uint8_t *key;
    Py_ssize_t key_length;
    Cursor value;
    if (!simple_key_value(kv, &key, &key_length, &value)) return 0;
    const Slot *slot = wanted_slot(wanted, key, key_length);
    PyObject *name = slot == NULL ? NULL : slot->name; /* borrowed */
    int custom = key_length >= wanted->custom_length && memcmp(key, wanted->custom, wanted->custom_length) == 0;
    if (name == NULL && !custom) return 1; /* an attribute extraction does not read */
    PyObject *result = NULL;
    int kind = any_value(value, &result);
    if (kind == VALUE_PUNT) return 0;
    if (kind == VALUE_NONE) return 1; /* an empty value is skipped, and leaves an earlier one in place */
    int failed;
    if (name != NULL) {
        failed = PyDict_SetItem(found, name, result);
        *marked |= slot->marker;
    } else {
        PyObject *text = PyUnicode_DecodeUTF8((const char *)key, key_length, NULL);
        if (text == NULL) {
            PyErr_Clear();
            Py_DECREF(result);
            return 0; /* a custom key that is not UTF-8: the Python reader's error */
        }
        failed = PyDict_SetItem(found, text, result);
        Py_DECREF(text);
    }
    Py_DECREF(result);
    return failed ? -1 : 1;
}

/* ---- spans -------------------------------------------------------------------------------------------------- */

static PyTypeObject *ScannedSpanType;
static PyTypeObject *ScannedStatusType;
static PyObject *statuses[3]; /* ScannedStatus for codes 0, 1 and 2, shared */

static PyStructSequence_Field span_fields[] = {
    {"trace_id", NULL},
    {"span_id", NULL},
    {"parent_span_id", NULL},
    {"name", NULL},
    {"start_time_unix_nano", NULL},
    {"end_time_unix_nano", NULL},
    {"status", "an object with the status `code`"},
    {"attributes", "the serialized attributes when `found` is None, else None"},
    {NULL, NULL},
};
static PyStructSequence_Desc span_desc = {
    "llmledger.collector.extract._read_spans.ScannedSpan",
    "The fields of a span extraction reads, with the names `read_spans.LeanRequest`'s spans give them.",
    span_fields,
    8,
};
static PyStructSequence_Field status_fields[] = {{"code", NULL}, {NULL, NULL}};
static PyStructSequence_Desc status_desc = {
    "llmledger.collector.extract._read_spans.ScannedStatus", "A span status's code.", status_fields, 1};

static PyObject *status_of(int64_t code) {
    if (code >= 0 && code < 3) {
        Py_INCREF(statuses[code]);
        return statuses[code];
    }
    PyObject *status = PyStructSequence_New(ScannedStatusType);
    if (status == NULL) return NULL;
    PyObject *number = PyLong_FromLongLong(code);
    if (number == NULL) {
        Py_DECREF(status);
        return NULL;
    }
    PyStructSequence_SET_ITEM(status, 0, number);
    return status;
}

enum { SPAN_OK = 1, SPAN_REQUEST_PUNT = 0, SPAN_ERROR = -1, SPAN_LEFT_OUT = 2 };

/* Whether `text` (a span's name; absent is "") is UTF-8, without an object for it when it is ASCII. */
static int utf8(Cursor text) {
    const uint8_t *p = text.p;
    while (p != NULL && p < text.end && *p < 0x80) p++;
    if (p == NULL || p == text.end) return 1;
    PyObject *decoded = PyUnicode_DecodeUTF8((const char *)text.p, text.end - text.p, NULL);
    if (decoded == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(decoded);
    return 1;
}

/* Whether a span may hold a marker: one of its attributes has a marker's key, or is in a shape other than
 * key-then-value (the Python reader reads those). Keys only: nothing is decoded, nothing allocated. */
static int may_hold_marker(Cursor span, const Wanted *wanted) {
    uint32_t number;
    int wire;
    Cursor body, value;
    uint64_t scalar;
    const uint8_t *key;
    Py_ssize_t key_length;
    while (span.p < span.end) {
        read_field(&span, &number, &wire, &body, &scalar); /* valid: the first pass read it */
        if (number != 9) continue;
        if (!simple_key_value(body, &key, &key_length, &value)) return 1;
        const Slot *slot = wanted_slot(wanted, key, key_length);
        if (slot != NULL && slot->marker) return 1;
    }
    return 0;
}

/* A Span into `spans` and `founds`. SPAN_REQUEST_PUNT: the request is not in the canonical shape; SPAN_LEFT_OUT:
 * filtering, the span holds no marker. */
static int read_span(Cursor span, const Wanted *wanted, PyObject *spans, PyObject *founds) {
    Cursor ids[3] = {{NULL, NULL}, {NULL, NULL}, {NULL, NULL}}; /* trace, span, parent */
    Cursor name = {NULL, NULL}, status = {NULL, NULL};
    uint64_t times[2] = {0, 0};
    int seen_times[2] = {0, 0};
    Py_ssize_t attributes = 0;
    uint32_t number;
    int wire;
    Cursor body;
    uint64_t scalar;
    Cursor walk = span;
    while (walk.p < walk.end) { /* first pass: the singular fields, each at most once */
        if (!read_field(&walk, &number, &wire, &body, &scalar)) return SPAN_REQUEST_PUNT;
        Cursor *target = NULL;
        switch (number) {
        case 1: case 2: case 4:
            target = &ids[number == 4 ? 2 : number - 1];
            break;
        case 5:
            target = &name;
            break;
        case 15:
            target = &status;
            break;
        case 7: case 8:
            if (wire != WIRE_FIXED64 || seen_times[number - 7]) return SPAN_REQUEST_PUNT;
            seen_times[number - 7] = 1;
            times[number - 7] = scalar;
            continue;
        case 9:
            if (wire != WIRE_LEN) return SPAN_REQUEST_PUNT;
            attributes++;
            continue;
        default:
            continue; /* a field extraction does not read (kind, events, links…): skipped, as in LeanSpan */
        }
        if (wire != WIRE_LEN || target->p != NULL) return SPAN_REQUEST_PUNT;
        *target = body;
    }
    int64_t code = 0;
    if (status.p != NULL) {
        Cursor inside = status;
        int seen_code = 0, seen_message = 0;
        while (inside.p < inside.end) {
            if (!read_field(&inside, &number, &wire, &body, &scalar)) return SPAN_REQUEST_PUNT;
            if (number == 3) {
                if (wire != WIRE_VARINT || seen_code++) return SPAN_REQUEST_PUNT;
                code = (int32_t)(uint32_t)scalar; /* an enum is an int32 */
            } else if (number == 2) { /* the message: must be UTF-8, as for the Python reader */
                if (wire != WIRE_LEN || seen_message++) return SPAN_REQUEST_PUNT;
                PyObject *message = PyUnicode_DecodeUTF8((const char *)body.p, body.end - body.p, NULL);
                if (message == NULL) {
                    PyErr_Clear();
                    return SPAN_REQUEST_PUNT;
                }
                Py_DECREF(message);
            }
        }
    }
    if (wanted->filtering && !may_hold_marker(span, wanted)) {
        return utf8(name) ? SPAN_LEFT_OUT : SPAN_REQUEST_PUNT; /* a name not in UTF-8: the Python reader's error */
    }
    PyObject *record = PyStructSequence_New(ScannedSpanType);
    if (record == NULL) return SPAN_ERROR;
    for (int i = 0; i < 3; i++) {
        PyObject *id = PyBytes_FromStringAndSize((const char *)ids[i].p, ids[i].end - ids[i].p);
        if (id == NULL) goto error;
        PyStructSequence_SET_ITEM(record, i, id);
    }
    PyObject *text = name.p == NULL ? PyUnicode_FromStringAndSize("", 0)
                                    : PyUnicode_DecodeUTF8((const char *)name.p, name.end - name.p, NULL);
    if (text == NULL) {
        PyErr_Clear();
        Py_DECREF(record);
        return SPAN_REQUEST_PUNT; /* not UTF-8: the Python reader's error to raise */
    }
    PyStructSequence_SET_ITEM(record, 3, text);
    for (int i = 0; i < 2; i++) {
        PyObject *time = PyLong_FromUnsignedLongLong(times[i]);
        if (time == NULL) goto error;
        PyStructSequence_SET_ITEM(record, 4 + i, time);
    }
    PyObject *status_object = status_of(code);
    if (status_object == NULL) goto error;
    PyStructSequence_SET_ITEM(record, 6, status_object);

    PyObject *found = PyDict_New();
    if (found == NULL) goto error;
    int done = 1, marked = 0;
    walk = span; /* the attributes in order (later duplicates win, as in the Python reader) */
    while (attributes && walk.p < walk.end && done == 1) {
        read_field(&walk, &number, &wire, &body, &scalar); /* valid: the first pass read it */
        if (number == 9) done = read_attribute(body, wanted, found, &marked);
    }
    if (done < 0) {
        Py_DECREF(found);
        goto error;
    }
    if (done == 1 && wanted->filtering && !marked) { /* a marker's key, but its value was empty */
        Py_DECREF(found);
        Py_DECREF(record);
        return SPAN_LEFT_OUT;
    }
    if (done == 0) { /* the Python reader reads this span's attributes, from their bytes */
        Py_DECREF(found);
        PyObject *raw = PyList_New(attributes);
        if (raw == NULL) goto error;
        Py_ssize_t index = 0;
        walk = span;
        while (walk.p < walk.end) {
            read_field(&walk, &number, &wire, &body, &scalar);
            if (number != 9) continue;
            PyObject *bytes = PyBytes_FromStringAndSize((const char *)body.p, body.end - body.p);
            if (bytes == NULL) {
                Py_DECREF(raw);
                goto error;
            }
            PyList_SET_ITEM(raw, index++, bytes);
        }
        PyStructSequence_SET_ITEM(record, 7, raw);
        found = Py_None;
        Py_INCREF(found);
    } else {
        Py_INCREF(Py_None);
        PyStructSequence_SET_ITEM(record, 7, Py_None);
    }
    int failed = PyList_Append(spans, record) || PyList_Append(founds, found);
    Py_DECREF(record);
    Py_DECREF(found);
    return failed ? SPAN_ERROR : SPAN_OK;
error:
    Py_DECREF(record);
    return SPAN_ERROR;
}

/* ---- the request -------------------------------------------------------------------------------------------- */

/* The next field `wanted_number` of `message`, skipping the others: 1 with its body, 0 at the end of the message,
 * -1 when the message is malformed or that field is not length-delimited. */
static int next_message(Cursor *message, uint32_t wanted_number, Cursor *body) {
    uint32_t number;
    int wire;
    uint64_t scalar;
    while (message->p < message->end) {
        if (!read_field(message, &number, &wire, body, &scalar)) return -1;
        if (number == wanted_number) return wire == WIRE_LEN ? 1 : -1;
    }
    return 0;
}

static int read_scope(Cursor scope, const Wanted *wanted, Py_ssize_t resource, PyObject *scopes,
                      Py_ssize_t *count) {
    PyObject *spans = PyList_New(0), *founds = PyList_New(0);
    if (spans == NULL || founds == NULL) goto error;
    Cursor body;
    int next;
    while ((next = next_message(&scope, 2, &body)) == 1) {
        int read = read_span(body, wanted, spans, founds);
        if (read == SPAN_ERROR) goto error;
        if (read == SPAN_REQUEST_PUNT) goto punt;
        ++*count;
    }
    if (next < 0) goto punt;
    PyObject *entry = Py_BuildValue("(nNN)", resource, spans, founds);
    if (entry == NULL) return -1;
    int failed = PyList_Append(scopes, entry);
    Py_DECREF(entry);
    return failed ? -1 : 1;
punt:
    Py_XDECREF(spans);
    Py_XDECREF(founds);
    return 0;
error:
    Py_XDECREF(spans);
    Py_XDECREF(founds);
    return -1;
}

static int read_resource_spans(Cursor resource_spans, const Wanted *wanted, PyObject *resources,
                               PyObject *scopes, Py_ssize_t *count) {
    Cursor walk = resource_spans, resource = {NULL, NULL}, body;
    uint32_t number;
    int wire;
    uint64_t scalar;
    while (walk.p < walk.end) { /* the resource first: it may come after its scopes */
        if (!read_field(&walk, &number, &wire, &body, &scalar)) return 0;
        if (number == 1) {
            if (wire != WIRE_LEN || resource.p != NULL) return 0;
            resource = body;
        } else if (number == 2 && wire != WIRE_LEN) {
            return 0;
        }
    }
    PyObject *raw = resource.p == NULL ? PyBytes_FromStringAndSize("", 0)
                                       : PyBytes_FromStringAndSize((const char *)resource.p, resource.end - resource.p);
    if (raw == NULL) return -1;
    Py_ssize_t index = PyList_GET_SIZE(resources);
    int failed = PyList_Append(resources, raw);
    Py_DECREF(raw);
    if (failed) return -1;
    walk = resource_spans; /* valid: read above */
    while (next_message(&walk, 2, &body) == 1) {
        int read = read_scope(body, wanted, index, scopes, count);
        if (read <= 0) return read;
    }
    return 1;
}

static PyObject *scan(PyObject *module, PyObject *args) {
    (void)module;
    Py_buffer body;
    PyObject *names, *markers = Py_None;
    Py_buffer custom;
    if (!PyArg_ParseTuple(args, "y*O!y*|O", &body, &PyDict_Type, &names, &custom, &markers)) return NULL;
    int filtering = markers != Py_None;
    Wanted wanted = {NULL, NULL, 0, custom.buf, custom.len, filtering};
    PyObject *resources = PyList_New(0), *scopes = PyList_New(0), *result = NULL;
    if (filtering && !PyAnySet_Check(markers)) {
        PyErr_SetString(PyExc_TypeError, "markers must be a set or frozenset of names");
        goto done;
    }
    if (resources == NULL || scopes == NULL || !wanted_init(&wanted, names, filtering ? markers : NULL)) goto done;
    Cursor request = {body.buf, (const uint8_t *)body.buf + body.len}, field;
    Py_ssize_t count = 0;
    int next;
    while ((next = next_message(&request, 1, &field)) == 1) {
        int read = read_resource_spans(field, &wanted, resources, scopes, &count);
        if (read < 0) goto done;
        if (read == 0) goto punt;
    }
    if (next < 0) goto punt;
    result = filtering ? Py_BuildValue("(OOn)", resources, scopes, count) : PyTuple_Pack(2, resources, scopes);
    goto done;
punt:
    result = Py_None;
    Py_INCREF(result);
done:
    wanted_release(&wanted);
    Py_XDECREF(resources);
    Py_XDECREF(scopes);
    PyBuffer_Release(&body);
    PyBuffer_Release(&custom);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(body, names, custom_prefix[, markers]) -> (resources, scopes[, spans]) | None: see the module's source."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_read_spans",
    "The OTLP span reader of `read_spans`, in C, for the canonical encoding; None where the Python reader must read.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__read_spans(void) {
    const uint16_t probe = 1;
    if (*(const uint8_t *)&probe != 1) { /* fixed64 fields are read with memcpy */
        PyErr_SetString(PyExc_ImportError, "_read_spans reads little-endian protobuf on little-endian hosts only");
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) return NULL;
    ScannedSpanType = PyStructSequence_NewType(&span_desc);
    ScannedStatusType = PyStructSequence_NewType(&status_desc);
    if (ScannedSpanType == NULL || ScannedStatusType == NULL) goto error;
    for (int code = 0; code < 3; code++) {
        statuses[code] = PyStructSequence_New(ScannedStatusType);
        if (statuses[code] == NULL) goto error;
        PyStructSequence_SET_ITEM(statuses[code], 0, PyLong_FromLong(code));
    }
    Py_INCREF(ScannedSpanType);
    if (PyModule_AddObject(module, "ScannedSpan", (PyObject *)ScannedSpanType) < 0) goto error;
    return module;
error:
    Py_DECREF(module);
    return NULL;
}
