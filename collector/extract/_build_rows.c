/* SPDX-License-Identifier: Apache-2.0
 *
 * `build_rows._row` in C, for the spans nearly every request is made of: a span read by `_read_spans.c` whose
 * token counts are ints, with no custom attribute, priced at an integer price or reporting its own cost in doubles.
 * Building those rows is most of what extraction costs, and in Python most of that is creating and looking up
 * objects this does without.
 *
 * It is an accelerator of `build_rows._row`, which stays the specification: `row()` gives exactly the tuple `_row`
 * gives, or None whenever the span is anything else (a count written as a string or a double, custom or
 * allow-listed attributes, a value `bound` would clamp, a price that is not an integer one, a cost past a million
 * USD), and the caller then asks `_row`. Python still does what is rare or memoised: `_described` on a memo
 * miss, a price lookup once per (provider, models, day) in a request, and a reported cost the C cannot read
 * exactly (a string, more than 18 decimals, a million USD or more: `build_rows._reported_columns`).
 * tests/collector/extract/test_build_rows_in_c.py holds the two to the same rows.
 *
 * configure(...)  once, before the first row: the attribute names, limits and callbacks
 *                 (`build_rows.configure_native`)
 * row(span, found, resource, wanted, names, entries, used, entry_of) -> tuple | None
 *   wanted, names: the `AttributeSelection`'s frozensets
 *   entries:  a dict this function fills, (provider, response model, request model, day) -> `entry_of`'s answer
 *   used:     the prices used, by id (`ExtractedColumns.prices`)
 *   entry_of: (provider, response model, request model, start ns) -> None (no price) | False (not an integer
 *             price) | (price, price id, priced model, tier starts, rates per tier)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef __int128 wide;

enum { INPUT, OUTPUT, CACHE_READ, CACHE_WRITE, CACHE_WRITE_1H, REASONING, KINDS };
#define DESCRIBED_FIELDS 11
#define ROW_FIELDS 39
#define NS_PER_DAY 86400000000000LL

struct config {
    int ready;
    PyTypeObject *span_type;
    PyObject *tokens[KINDS]; /* the names of each token count, in order of preference */
    PyObject *total_names, *ttfc_names, *user_names, *session_names, *finish_names;
    PyObject *cost_keys;       /* frozenset: a span with any of them reports its cost */
    PyObject *cost_names[5];   /* total, input, cache read, cache write, output: names in order of preference */
    PyObject *prompt_names, *priced_names, *currency_names;
    PyObject *cost_source_key; /* `gen_ai.usage.cost.source`: "provider" when the provider reported the cost */
    PyObject *server_key;      /* `server.address`: `_row` stores it on a call whose usage never arrived */
    PyObject *python_keys;     /* tuple: usage given as text (LiteLLM's, LangSmith's): read by `_row` alone */
    PyObject *kind_key, *llm_kinds, *traceloop_key, *operation_names, *not_a_call, *call_keys; /* `is_llm_call` */
    PyObject *call_operations, *model_names;
    PyObject *described_keys;  /* tuple: `build_calls._DESCRIBED_KEYS` */
    PyObject *described_cache; /* dict: `build_calls._described_cache` */
    PyObject *described;       /* `build_calls._described` */
    PyObject *reported;        /* `build_rows._reported_columns` */
    PyObject *statuses;        /* `build_calls._STATUS` */
    PyObject *empty, *usd, *s_instrumentation, *s_provider, *s_collector, *s_unpriced; /* `calls.CostSource` */
    PyObject *k_attributes, *k_tenant, *k_service, *k_environment, *k_feature, *k_user, *k_session;
    long long max_tokens, max_timestamp, cost_limit;
    double max_ms;
    Py_ssize_t max_text;
};
static struct config cfg;

/* ---- reading `found` ----------------------------------------------------------------------------------------- */

/* `values.count(found, names)`: the first of `names` present as a non-negative whole number (*present = 1), or
 * none (*present = 0). 0 where only Python can say, a count written as a double or a string, or past 2⁶³: the
 * caller defers. */
static int token(PyObject *found, PyObject *names, long long *out, int *present) {
    *out = 0;
    *present = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *value = PyDict_GetItemWithError(found, PyTuple_GET_ITEM(names, i));
        if (value == NULL) {
            if (PyErr_Occurred()) return 0;
            continue;
        }
        if (PyLong_CheckExact(value)) {
            int overflow;
            long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (overflow > 0) return 0;
            if (overflow < 0 || number < 0) continue; /* `count` looks further */
            *out = number;
            *present = 1;
            return 1;
        }
        if (PyFloat_CheckExact(value) || PyUnicode_CheckExact(value)) return 0;
        /* None, a bool, a list: `count` skips it */
    }
    return 1;
}

/* `values.text`: the first of `names` present as a non-empty string, an int as its digits, a list's first string;
 * "" when none. A new reference; NULL on error. */
static PyObject *text(PyObject *found, PyObject *names) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *value = PyDict_GetItemWithError(found, PyTuple_GET_ITEM(names, i));
        if (value == NULL) {
            if (PyErr_Occurred()) return NULL;
            continue;
        }
        if (PyUnicode_CheckExact(value)) {
            if (PyUnicode_GET_LENGTH(value) > 0) return Py_NewRef(value);
        } else if (PyLong_CheckExact(value)) {
            return PyObject_Str(value);
        } else if (PyList_CheckExact(value) && PyList_GET_SIZE(value) > 0) {
            PyObject *item = PyList_GET_ITEM(value, 0);
            if (PyUnicode_CheckExact(item) && PyUnicode_GET_LENGTH(item) > 0) return Py_NewRef(item);
        }
    }
    return Py_NewRef(cfg.empty);
}

/* `values.number` of the time to first chunk, in seconds: 1 with *out set (0.0 when absent); 0 to defer. */
static int seconds(PyObject *found, PyObject *names, double *out) {
    *out = 0.0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *value = PyDict_GetItemWithError(found, PyTuple_GET_ITEM(names, i));
        if (value == NULL) {
            if (PyErr_Occurred()) {
                PyErr_Clear();
                return 0;
            }
            continue;
        }
        if (PyFloat_CheckExact(value)) {
            *out = PyFloat_AS_DOUBLE(value);
            return 1;
        }
        if (PyLong_CheckExact(value)) {
            *out = PyLong_AsDouble(value);
            if (*out == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                return 0;
            }
            return 1;
        }
    }
    return 1;
}

/* A Python int as a long long; 0 when it is not one or does not fit. */
static int as_long(PyObject *value, long long *out) {
    if (!PyLong_Check(value)) return 0;
    int overflow;
    *out = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* `bytes.hex()`. */
static PyObject *hex(PyObject *bytes) {
    static const char digits[] = "0123456789abcdef";
    Py_ssize_t length = PyBytes_GET_SIZE(bytes);
    const unsigned char *source = (const unsigned char *)PyBytes_AS_STRING(bytes);
    PyObject *out = PyUnicode_New(2 * length, 127);
    if (out == NULL) return NULL;
    Py_UCS1 *target = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t i = 0; i < length; i++) {
        target[2 * i] = digits[source[i] >> 4];
        target[2 * i + 1] = digits[source[i] & 15];
    }
    return out;
}

/* ---- pricing ------------------------------------------------------------------------------------------------- */

/* `_Pricing.of` for this request, by (provider, response model, request model, day), as `entry_of` answers it.
 * A borrowed reference, NULL on error. */
static PyObject *price_entry(PyObject *entries, PyObject *entry_of, PyObject *provider, PyObject *response_model,
                             PyObject *request_model, PyObject *start, long long start_ns) {
    PyObject *day = PyLong_FromLongLong(start_ns / NS_PER_DAY);
    if (day == NULL) return NULL;
    PyObject *key = PyTuple_Pack(4, provider, response_model, request_model, day);
    Py_DECREF(day);
    if (key == NULL) return NULL;
    PyObject *entry = PyDict_GetItemWithError(entries, key);
    if (entry == NULL && !PyErr_Occurred()) {
        PyObject *made = PyObject_CallFunctionObjArgs(entry_of, provider, response_model, request_model, start, NULL);
        if (made != NULL) {
            if (PyDict_SetItem(entries, key, made) == 0) entry = made; /* the dict holds it */
            Py_DECREF(made);
        }
    }
    Py_DECREF(key);
    return entry;
}

/* `IntegerPrice.costs` from an entry's tiers: (input, cache read, cache write, output, total, savings) in 10⁻¹² USD.
 * 0 when the entry is not in the expected shape: the caller defers. */
static int integer_costs(PyObject *entry, long long inputs, long long outputs, long long reads, long long writes,
                         long long writes_1h, wide costs[6]) {
    if (!PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 5) return 0;
    PyObject *starts = PyTuple_GET_ITEM(entry, 3);
    PyObject *table = PyTuple_GET_ITEM(entry, 4);
    if (!PyTuple_CheckExact(starts) || !PyTuple_CheckExact(table)) return 0;
    Py_ssize_t tier = 0; /* bisect_left(starts, inputs) */
    for (; tier < PyTuple_GET_SIZE(starts); tier++) {
        long long start;
        if (!as_long(PyTuple_GET_ITEM(starts, tier), &start)) return 0;
        if (start >= inputs) break;
    }
    if (tier >= PyTuple_GET_SIZE(table)) return 0;
    PyObject *rates = PyTuple_GET_ITEM(table, tier);
    if (!PyTuple_CheckExact(rates) || PyTuple_GET_SIZE(rates) != 5) return 0;
    long long rate[5]; /* input, cache read, cache write, one-hour cache write, output */
    for (int i = 0; i < 5; i++)
        if (!as_long(PyTuple_GET_ITEM(rates, i), &rate[i])) return 0;
    long long one_hour = writes_1h < writes ? writes_1h : writes;
    long long uncached = inputs - reads - writes;
    costs[0] = (wide)(uncached > 0 ? uncached : 0) * rate[0];
    costs[1] = (wide)reads * rate[1];
    costs[2] = (wide)(writes - one_hour) * rate[2] + (wide)one_hour * rate[3];
    costs[3] = (wide)outputs * rate[4];
    costs[4] = costs[0] + costs[1] + costs[2] + costs[3];
    costs[5] = reads || writes ? (wide)inputs * rate[0] + costs[3] - costs[4] : 0;
    return 1;
}

/* `costs.reported_source(found) == "provider"`: the span says the provider reported its cost. */
static int reported_by_provider(PyObject *found) {
    PyObject *value = PyDict_GetItemWithError(found, cfg.cost_source_key);
    if (value == NULL || !PyUnicode_Check(value)) {
        PyErr_Clear();
        return 0;
    }
    return PyUnicode_Compare(value, cfg.s_provider) == 0;
}

/* `build_calls.is_llm_call(found)` where it is certainly True; 0 where Python must decide (another kind, a framework
 * span, an operation that is not a call, a call known only by its operation and model). */
static int certainly_a_call(PyObject *found) {
    PyObject *kind = PyDict_GetItemWithError(found, cfg.kind_key);
    if (kind != NULL) { /* OpenInference: its span kind decides */
        if (!PyUnicode_CheckExact(kind)) return 0;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(cfg.llm_kinds); i++)
            if (PyUnicode_Compare(kind, PyTuple_GET_ITEM(cfg.llm_kinds, i)) == 0) return 1;
        PyErr_Clear();
        return 0;
    }
    if (PyErr_Occurred() || PyDict_Contains(found, cfg.traceloop_key) != 0) return 0;
    PyObject *operation = text(found, cfg.operation_names);
    if (operation == NULL) return 0;
    int answer = 0;
    if (PySet_Contains(cfg.not_a_call, operation) != 0) goto done;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(cfg.call_keys); i++) {
        int has = PyDict_Contains(found, PyTuple_GET_ITEM(cfg.call_keys, i));
        if (has != 0) {
            answer = has > 0; /* usage or a cost: a call */
            goto done;
        }
    }
    if (PySet_Contains(cfg.call_operations, operation) == 1) { /* a call's operation, on a named model */
        PyObject *model = text(found, cfg.model_names);
        answer = model != NULL && PyUnicode_GET_LENGTH(model) > 0;
        Py_XDECREF(model);
    }
done:
    Py_DECREF(operation);
    PyErr_Clear();
    return answer;
}

/* ---- reported costs ------------------------------------------------------------------------------------------ */

/* Amounts are exact integers of 10⁻¹⁸ USD here. `costs.reported` works in `Decimal` (28 digits); for amounts below a
 * million USD with at most 18 decimals every sum and difference it takes fits in 25 digits, so it is exact there
 * too, and the two agree. Anything else (more decimals, a string, a million USD or more) is left to Python. */
#define ATTO_PER_PICO 1000000
static const wide ATTO_PER_USD = (wide)1000000000000000000LL;
static const wide MONEY_LIMIT = (wide)1000000 * (wide)1000000000000000000LL; /* a million USD */

/* A finite, non-negative double as `Decimal(repr(value))` in 10⁻¹⁸ USD; 0 when that is not exact or too large. */
static int atto_of_double(double value, wide *out) {
    char *repr = PyOS_double_to_string(value, 'r', 0, 0, NULL);
    if (repr == NULL) {
        PyErr_Clear();
        return 0;
    }
    long long mantissa = 0;
    int digits = 0, fraction = 0, in_fraction = 0, exponent = 0, ok = 1;
    const char *c = repr;
    for (; *c && *c != 'e'; c++) {
        if (*c == '.') {
            in_fraction = 1;
        } else if (*c >= '0' && *c <= '9') {
            if (++digits > 18) ok = 0; /* never, for a shortest repr (17 digits) */
            mantissa = mantissa * 10 + (*c - '0');
            fraction += in_fraction;
        } else if (*c != '-') {
            ok = 0;
        }
    }
    if (*c == 'e') exponent = atoi(c + 1);
    PyMem_Free(repr);
    int shift = 18 - fraction + exponent;
    if (!ok || shift < 0 || shift > 30) return 0;
    wide amount = mantissa;
    for (int i = 0; i < shift && amount < MONEY_LIMIT; i++) amount *= 10;
    if (amount >= MONEY_LIMIT) return 0;
    *out = amount;
    return 1;
}

/* `values.money(found, names)` in 10⁻¹⁸ USD: 1 with *present set; 0 where only Python can say. */
static int money(PyObject *found, PyObject *names, wide *out, int *present) {
    *out = 0;
    *present = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *value = PyDict_GetItemWithError(found, PyTuple_GET_ITEM(names, i));
        if (value == NULL) {
            if (PyErr_Occurred()) return 0;
            continue;
        }
        if (PyFloat_CheckExact(value)) {
            double real = PyFloat_AS_DOUBLE(value);
            if (!isfinite(real) || real < 0) continue; /* not finite, or negative: `money` looks further */
            if (!atto_of_double(real, out)) return 0;
            *present = 1;
            return 1;
        }
        if (PyLong_CheckExact(value)) {
            int overflow;
            long long whole = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (overflow < 0 || (!overflow && whole < 0)) continue;
            if (overflow || whole >= 1000000) return 0;
            *out = (wide)whole * ATTO_PER_USD;
            *present = 1;
            return 1;
        }
        if (PyUnicode_CheckExact(value)) return 0; /* a decimal in a string: Python parses it */
        /* None, a bool, a list: `money` skips it */
    }
    return 1;
}

/* `round(Decimal.scaleb(12))` of a non-negative amount in 10⁻¹⁸ USD: half-even to 10⁻¹² USD. */
static wide pico(wide atto) {
    wide whole = atto / ATTO_PER_PICO, rest = atto % ATTO_PER_PICO;
    if (rest > ATTO_PER_PICO / 2 || (rest == ATTO_PER_PICO / 2 && (whole & 1))) whole++;
    return whole;
}

/* `build_rows._reported_columns`' costs, (input, cache read, cache write, output, other, total) in 10⁻¹² USD:
 * 1 when the span reports a cost, 0 when it reports none, -1 where only Python can say. */
static int reported_costs(PyObject *found, wide out[6]) {
    wide total, parts[4];
    int has_total, has_part[4];
    if (!money(found, cfg.cost_names[0], &total, &has_total)) return -1;
    for (int i = 0; i < 4; i++)
        if (!money(found, cfg.cost_names[1 + i], &parts[i], &has_part[i])) return -1;
    if (!has_total && !has_part[0] && !has_part[1] && !has_part[2] && !has_part[3]) return 0;
    if (!has_part[0]) { /* OpenInference gives all prompt cost; uncached input is the rest of it */
        wide prompt;
        int has_prompt;
        if (!money(found, cfg.prompt_names, &prompt, &has_prompt)) return -1;
        if (has_prompt) {
            wide rest = prompt - parts[1] - parts[2];
            parts[0] = rest > 0 ? rest : 0;
            has_part[0] = 1;
        }
    }
    wide sum = parts[0] + parts[1] + parts[2] + parts[3];
    wide gap = total - sum;
    if (!has_total || (gap <= 1000000000 && gap >= -1000000000) || total < sum) /* within 1e-9 USD: round-off */
        total = has_part[0] || has_part[1] || has_part[2] || has_part[3] ? sum : total;
    wide amounts[6] = {parts[0], parts[1], parts[2], parts[3], total - sum, total};
    for (int i = 0; i < 6; i++) out[i] = pico(amounts[i]);
    return 1;
}

/* ---- the row ------------------------------------------------------------------------------------------------- */

/* `build_calls._described(found)`: the memo looked up here, `_described` called on a miss. A new reference or NULL. */
static PyObject *described(PyObject *found) {
    Py_ssize_t count = PyTuple_GET_SIZE(cfg.described_keys);
    PyObject *values = PyTuple_New(count);
    if (values == NULL) return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = PyDict_GetItemWithError(found, PyTuple_GET_ITEM(cfg.described_keys, i));
        if (value == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(values);
                return NULL;
            }
            value = Py_None;
        }
        PyTuple_SET_ITEM(values, i, Py_NewRef(value));
    }
    PyObject *known = PyDict_GetItemWithError(cfg.described_cache, values);
    Py_DECREF(values);
    if (known != NULL) return Py_NewRef(known);
    PyErr_Clear(); /* a miss, or a list value (unhashable): `_described` works it out */
    return PyObject_CallOneArg(cfg.described, found);
}

static int in_range(wide value) { return -(wide)cfg.cost_limit < value && value < (wide)cfg.cost_limit; }

#define DEFER()             \
    do {                    \
        result = Py_None;   \
        goto done;          \
    } while (0)
#define CHECK(expression)          \
    do {                           \
        if ((expression) == NULL)  \
            goto error;            \
    } while (0)

static PyObject *row(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "row() takes 8 arguments");
        return NULL;
    }
    if (!cfg.ready) {
        PyErr_SetString(PyExc_RuntimeError, "_build_rows.configure() was not called");
        return NULL;
    }
    PyObject *span = args[0], *found = args[1], *resource = args[2], *wanted = args[3], *names = args[4];
    PyObject *entries = args[5], *used = args[6], *entry_of = args[7];
    PyObject *result = NULL, *own = NULL, *describe = NULL, *custom = NULL, *priced_text = NULL, *currency_text = NULL;
    PyObject *trace_id = NULL, *span_id = NULL, *parent_span_id = NULL, *user_id = NULL, *session_id = NULL;
    PyObject *finish_reason = NULL, *numbers[15] = {NULL};
    if (Py_TYPE(span) != cfg.span_type || !PyDict_CheckExact(found) || !PyDict_CheckExact(resource) ||
        !PyDict_CheckExact(entries) || !PyDict_CheckExact(used) || !PyAnySet_Check(wanted) || !PyAnySet_Check(names))
        return Py_NewRef(Py_None);

    if (!certainly_a_call(found)) DEFER();
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(cfg.python_keys); i++) {
        int python_only = PyDict_Contains(found, PyTuple_GET_ITEM(cfg.python_keys, i));
        if (python_only < 0) goto error;
        if (python_only) DEFER();
    }

    /* Token counts, made inclusive as `build_calls.token_counts` does. */
    long long count[KINDS];
    int present[KINDS];
    for (int kind = 0; kind < KINDS; kind++)
        if (!token(found, cfg.tokens[kind], &count[kind], &present[kind])) DEFER();
    for (int kind = 0; kind < KINDS; kind++)
        if (kind != CACHE_WRITE_1H && count[kind] > cfg.max_tokens) DEFER(); /* `bound` would clamp it */
    long long cached = count[CACHE_READ] + count[CACHE_WRITE];
    if (present[INPUT] && count[INPUT] < cached) {
        count[INPUT] += cached;
    } else if (!present[INPUT] && cached) {
        count[INPUT] = cached;
        present[INPUT] = 1;
    }
    if (!present[OUTPUT]) { /* output from a total, when there is one */
        long long total;
        int has_total;
        if (!token(found, cfg.total_names, &total, &has_total)) DEFER();
        if (has_total && present[INPUT] && total >= count[INPUT]) {
            count[OUTPUT] = total - count[INPUT];
            present[OUTPUT] = 1;
        }
    }
    if (count[REASONING] && present[OUTPUT] && count[OUTPUT] < count[REASONING]) count[OUTPUT] += count[REASONING];
    if (count[INPUT] > cfg.max_tokens || count[OUTPUT] > cfg.max_tokens) DEFER();

    /* Times. */
    long long start, end;
    PyObject *start_object = PyStructSequence_GET_ITEM(span, 4);
    if (!as_long(start_object, &start) || start < 0 || start > cfg.max_timestamp) DEFER();
    PyObject *end_object = PyStructSequence_GET_ITEM(span, 5);
    if (!as_long(end_object, &end)) {
        /* past 2⁶³: later than any start allowed here, so the duration is past `MAX_MS` */
        DEFER();
    }
    double duration = end > start ? (double)(end - start) / 1e6 : 0.0;
    double ttfc;
    if (!seconds(found, cfg.ttfc_names, &ttfc)) DEFER();
    double first_chunk = ttfc != 0.0 ? ttfc * 1000 : 0.0;
    if (!(0 <= duration && duration <= cfg.max_ms) || !(0 <= first_chunk && first_chunk <= cfg.max_ms)) DEFER();

    /* No custom attribute: the resource gives none, and every key found is one the conventions read. One walk also
     * tells whether the span reports a cost. */
    PyObject *resource_custom = PyDict_GetItemWithError(resource, cfg.k_attributes);
    if (resource_custom == NULL) DEFER();
    int truth = PyObject_IsTrue(resource_custom);
    if (truth != 0) DEFER();
    int reports_cost = 0;
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(found, &position, &key, &value)) {
        if (PySet_Contains(wanted, key) != 1) DEFER();
        if (PySet_GET_SIZE(names) && PySet_Contains(names, key) != 0) DEFER();
        if (!reports_cost && PySet_Contains(cfg.cost_keys, key) == 1) reports_cost = 1;
    }
    PyErr_Clear();

    CHECK(describe = described(found));
    if (!PyTuple_CheckExact(describe) || PyTuple_GET_SIZE(describe) != DESCRIBED_FIELDS) DEFER();
    PyObject *tenant = PyTuple_GET_ITEM(describe, 0), *service = PyTuple_GET_ITEM(describe, 1);
    PyObject *environment = PyTuple_GET_ITEM(describe, 2), *feature = PyTuple_GET_ITEM(describe, 3);
    PyObject *provider = PyTuple_GET_ITEM(describe, 4), *operation = PyTuple_GET_ITEM(describe, 5);
    PyObject *request_model = PyTuple_GET_ITEM(describe, 6), *response_model = PyTuple_GET_ITEM(describe, 7);
    PyObject *error_type = PyTuple_GET_ITEM(describe, 8), *streaming = PyTuple_GET_ITEM(describe, 9);
    PyObject *complete = PyTuple_GET_ITEM(describe, 10);
    for (int i = 0; i < 9; i++)
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(describe, i))) DEFER();

    long long code;
    if (!as_long(PyStructSequence_GET_ITEM(PyStructSequence_GET_ITEM(span, 6), 0), &code)) DEFER();
    int status = 0 <= code && code < 3 ? (int)code : 0;
    if (PyUnicode_GET_LENGTH(error_type) > 0 && status == 0) status = 2;

    /* Costs. */
    wide costs[6] = {0}, other = 0;
    PyObject *priced_model = cfg.empty, *price_id = cfg.empty, *source, *currency = cfg.usd;
    wide kept[6]; /* the span's own cost: (input, cache read, cache write, output, other, total) */
    int reports = reports_cost ? reported_costs(found, kept) : 0;
    if (reports < 0) { /* Python reads it */
        CHECK(own = PyObject_CallOneArg(cfg.reported, found));
        if (own != Py_None) {
            if (!PyTuple_CheckExact(own) || PyTuple_GET_SIZE(own) != 8) DEFER();
            long long part;
            for (int i = 0; i < 6; i++) {
                if (!as_long(PyTuple_GET_ITEM(own, i), &part)) DEFER();
                kept[i] = part;
            }
            priced_model = PyTuple_GET_ITEM(own, 6);
            currency = PyTuple_GET_ITEM(own, 7);
            reports = 1;
        }
    } else if (reports > 0) {
        CHECK(priced_text = text(found, cfg.priced_names));
        CHECK(currency_text = text(found, cfg.currency_names));
        priced_model = priced_text;
        if (PyUnicode_GET_LENGTH(currency_text) > 0) currency = currency_text;
    }
    if (reports > 0) { /* the span's cost, kept; our price only tells what the cache saved */
        costs[0] = kept[0], costs[1] = kept[1], costs[2] = kept[2], costs[3] = kept[3];
        other = kept[4];
        costs[4] = kept[5];
        if (count[CACHE_READ] || count[CACHE_WRITE]) {
            PyObject *entry;
            CHECK(entry = price_entry(entries, entry_of, provider, response_model, request_model, start_object,
                                      start));
            if (entry == Py_False) DEFER();
            if (entry != Py_None) {
                wide ours[6];
                if (!integer_costs(entry, count[INPUT], count[OUTPUT], count[CACHE_READ], count[CACHE_WRITE],
                                   count[CACHE_WRITE_1H], ours))
                    DEFER();
                costs[5] = ours[5];
            }
        }
        source = reported_by_provider(found) ? cfg.s_provider : cfg.s_instrumentation;
    } else {
        PyObject *entry = Py_None;
        if (!present[INPUT] && !present[OUTPUT] && status != 2) {
            complete = Py_False; /* nothing to price: unpriced, flagged incomplete */
        } else {
            CHECK(entry = price_entry(entries, entry_of, provider, response_model, request_model, start_object,
                                      start));
        }
        if (entry == Py_None) {
            source = cfg.s_unpriced;
        } else if (entry == Py_False) {
            DEFER(); /* a rate with more than six decimals: Decimal */
        } else {
            if (!integer_costs(entry, count[INPUT], count[OUTPUT], count[CACHE_READ], count[CACHE_WRITE],
                               count[CACHE_WRITE_1H], costs))
                DEFER();
            PyObject *price = PyTuple_GET_ITEM(entry, 0);
            price_id = PyTuple_GET_ITEM(entry, 1);
            priced_model = PyTuple_GET_ITEM(entry, 2);
            if (!PyUnicode_CheckExact(price_id)) DEFER();
            source = cfg.s_collector;
            if (PyUnicode_GET_LENGTH(price_id) > 0 && PyDict_SetItem(used, price_id, price) < 0) goto error;
        }
    }
    for (int i = 0; i < 6; i++)
        if (!in_range(costs[i])) DEFER(); /* refused or clamped, by the LlmCall path */
    if (!in_range(other)) DEFER();
    if (complete != Py_True) { /* usage never arrived: `_row` stores the host the call went to, for the report */
        int has_server = PyDict_Contains(found, cfg.server_key);
        if (has_server < 0) goto error;
        if (has_server) DEFER();
    }

    /* Texts: the span's attribution wins, the resource's service, environment and ownership fill the rest. */
    for (int i = 0; i < 3; i++)
        if (!PyBytes_CheckExact(PyStructSequence_GET_ITEM(span, i))) DEFER();
    CHECK(trace_id = hex(PyStructSequence_GET_ITEM(span, 0)));
    CHECK(span_id = hex(PyStructSequence_GET_ITEM(span, 1)));
    CHECK(parent_span_id = hex(PyStructSequence_GET_ITEM(span, 2)));
    PyObject *span_name = PyStructSequence_GET_ITEM(span, 3);
    PyObject *from_resource[6];
    PyObject *resource_keys[6] = {cfg.k_tenant, cfg.k_service, cfg.k_environment,
                                  cfg.k_feature, cfg.k_user, cfg.k_session};
    for (int i = 0; i < 6; i++) {
        from_resource[i] = PyDict_GetItemWithError(resource, resource_keys[i]);
        if (from_resource[i] == NULL) DEFER();
    }
    if (PyUnicode_GET_LENGTH(tenant) == 0) tenant = from_resource[0];
    if (PyObject_IsTrue(from_resource[1]) == 1) service = from_resource[1];
    if (PyObject_IsTrue(from_resource[2]) == 1) environment = from_resource[2];
    if (PyUnicode_GET_LENGTH(feature) == 0) feature = from_resource[3];
    CHECK(user_id = text(found, cfg.user_names));
    CHECK(session_id = text(found, cfg.session_names));
    CHECK(finish_reason = text(found, cfg.finish_names));
    PyObject *user = PyUnicode_GET_LENGTH(user_id) ? user_id : from_resource[4];
    PyObject *session = PyUnicode_GET_LENGTH(session_id) ? session_id : from_resource[5];
    PyObject *status_code = PyTuple_GET_ITEM(cfg.statuses, status);
    PyObject *texts[] = {trace_id, span_id, parent_span_id, span_name, tenant, service, environment, feature, user,
                         session, provider, operation, request_model, response_model, priced_model, error_type,
                         finish_reason, currency};
    Py_ssize_t length = 0;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        if (!PyUnicode_CheckExact(texts[i])) DEFER();
        length += PyUnicode_GET_LENGTH(texts[i]);
    }
    if (length > cfg.max_text) DEFER();

    long long tokens[5] = {count[INPUT], count[OUTPUT], count[CACHE_READ], count[CACHE_WRITE], count[REASONING]};
    for (int i = 0; i < 5; i++) CHECK(numbers[i] = PyLong_FromLongLong(tokens[i]));
    wide amounts[7] = {costs[0], costs[1], costs[2], costs[3], other, costs[4], costs[5]};
    for (int i = 0; i < 7; i++) CHECK(numbers[5 + i] = PyLong_FromLongLong((long long)amounts[i]));
    CHECK(numbers[12] = PyFloat_FromDouble(duration));
    CHECK(numbers[13] = PyFloat_FromDouble(first_chunk));
    CHECK(custom = PyDict_New());
    PyObject *fields[ROW_FIELDS] = {
        start_object, trace_id, span_id, parent_span_id, span_name, numbers[12], numbers[13],
        tenant, service, environment, feature, user, session,
        provider, operation, request_model, response_model, priced_model, status_code, error_type, finish_reason,
        streaming, complete,
        numbers[0], numbers[1], numbers[2], numbers[3], numbers[4],
        numbers[5], numbers[6], numbers[7], numbers[8], numbers[9], numbers[10], numbers[11],
        source, price_id, currency,
        custom,
    };
    CHECK(result = PyTuple_New(ROW_FIELDS));
    for (int i = 0; i < ROW_FIELDS; i++) PyTuple_SET_ITEM(result, i, Py_NewRef(fields[i]));
    goto done;

error:
    result = NULL;
done:
    if (result == Py_None) {
        PyErr_Clear(); /* whatever made it defer is `_row`'s to meet again */
        Py_INCREF(result);
    }
    Py_XDECREF(own);
    Py_XDECREF(priced_text);
    Py_XDECREF(currency_text);
    Py_XDECREF(describe);
    Py_XDECREF(custom);
    Py_XDECREF(trace_id);
    Py_XDECREF(span_id);
    Py_XDECREF(parent_span_id);
    Py_XDECREF(user_id);
    Py_XDECREF(session_id);
    Py_XDECREF(finish_reason);
    for (int i = 0; i < 15; i++) Py_XDECREF(numbers[i]);
    return result;
}

/* ---- configuration ------------------------------------------------------------------------------------------- */

/* Every reference a configuration holds: taken when it is made, released when another replaces it. */
#define CONFIG_REFS(c)                                                                                                \
    {(PyObject *)(c)->span_type, (c)->tokens[0], (c)->tokens[1], (c)->tokens[2], (c)->tokens[3], (c)->tokens[4],     \
     (c)->tokens[5], (c)->total_names, (c)->ttfc_names, (c)->user_names, (c)->session_names, (c)->finish_names,     \
     (c)->cost_keys, (c)->cost_names[0], (c)->cost_names[1], (c)->cost_names[2], (c)->cost_names[3],                \
     (c)->cost_names[4], (c)->prompt_names, (c)->priced_names, (c)->currency_names, (c)->cost_source_key, (c)->server_key, (c)->python_keys, (c)->kind_key, (c)->llm_kinds,  \
     (c)->traceloop_key, (c)->operation_names, (c)->not_a_call, (c)->call_keys, (c)->call_operations,             \
     (c)->model_names, (c)->described_keys, (c)->described_cache, (c)->described, (c)->reported, (c)->statuses,    \
     (c)->empty, (c)->usd, (c)->s_instrumentation, (c)->s_provider, (c)->s_collector, (c)->s_unpriced, (c)->k_attributes, (c)->k_tenant,     \
     (c)->k_service, (c)->k_environment, (c)->k_feature, (c)->k_user, (c)->k_session}

static void config_release(struct config *c) {
    PyObject *refs[] = CONFIG_REFS(c);
    for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) Py_XDECREF(refs[i]);
}

static PyObject *configure(PyObject *module, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"span_type", "tokens", "total", "time_to_first_chunk", "user", "session",
                               "finish_reasons", "cost_keys", "cost_names", "prompt_cost", "priced_model",
                               "currency", "cost_source", "server_address", "python_only", "openinference_kind", "llm_kinds", "traceloop_kind", "operation",
                               "not_a_call", "call_keys", "call_operations", "model_names", "described_keys", "described_cache", "described", "reported",
                               "statuses", "max_tokens", "max_timestamp_ns", "max_ms", "max_text", "cost_limit",
                               NULL};
    /* Built aside and swapped in whole, so a call with bad arguments leaves the running configuration as it was.
     * The old one is released: never call this from the callbacks `row()` makes (`described`, `reported`). */
    struct config next = {0};
    PyObject *span_type, *tokens, *cost_names;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!O!OOO!LLdnL:configure", keywords, &PyType_Type, &span_type,
            &PyTuple_Type, &tokens, &PyTuple_Type, &next.total_names, &PyTuple_Type, &next.ttfc_names, &PyTuple_Type,
            &next.user_names, &PyTuple_Type, &next.session_names, &PyTuple_Type, &next.finish_names,
            &PyFrozenSet_Type, &next.cost_keys, &PyTuple_Type, &cost_names, &PyTuple_Type, &next.prompt_names,
            &PyTuple_Type, &next.priced_names, &PyTuple_Type, &next.currency_names, &PyUnicode_Type,
            &next.cost_source_key, &PyUnicode_Type, &next.server_key, &PyTuple_Type, &next.python_keys, &PyUnicode_Type, &next.kind_key,
            &PyTuple_Type, &next.llm_kinds, &PyUnicode_Type, &next.traceloop_key, &PyTuple_Type, &next.operation_names,
            &PyFrozenSet_Type, &next.not_a_call, &PyTuple_Type, &next.call_keys, &PyFrozenSet_Type,
            &next.call_operations, &PyTuple_Type, &next.model_names, &PyTuple_Type, &next.described_keys,
            &PyDict_Type,
            &next.described_cache, &next.described, &next.reported, &PyTuple_Type, &next.statuses, &next.max_tokens,
            &next.max_timestamp, &next.max_ms, &next.max_text, &next.cost_limit))
        return NULL;
    if (PyTuple_GET_SIZE(tokens) != KINDS || PyTuple_GET_SIZE(next.statuses) != 3) {
        PyErr_SetString(PyExc_ValueError, "configure(): six token kinds and three statuses");
        return NULL;
    }
    if (PyTuple_GET_SIZE(cost_names) != 5) {
        PyErr_SetString(PyExc_ValueError, "configure(): five cost kinds");
        return NULL;
    }
    for (int kind = 0; kind < 5; kind++) {
        if (!PyTuple_CheckExact(PyTuple_GET_ITEM(cost_names, kind))) {
            PyErr_SetString(PyExc_ValueError, "configure(): each cost kind is a tuple of names");
            return NULL;
        }
        next.cost_names[kind] = PyTuple_GET_ITEM(cost_names, kind);
    }
    for (int kind = 0; kind < KINDS; kind++) {
        PyObject *kind_names = PyTuple_GET_ITEM(tokens, kind);
        if (!PyTuple_CheckExact(kind_names) || PyTuple_GET_SIZE(kind_names) == 0) {
            PyErr_SetString(PyExc_ValueError, "configure(): each token kind is a non-empty tuple of names");
            return NULL;
        }
        next.tokens[kind] = kind_names;
    }
    next.span_type = (PyTypeObject *)span_type;
    {
        PyObject *borrowed[] = CONFIG_REFS(&next); /* the strings below are still NULL: skipped */
        for (size_t i = 0; i < sizeof borrowed / sizeof *borrowed; i++) Py_XINCREF(borrowed[i]);
    }
    const struct {
        PyObject **field;
        const char *text;
    } interned[] = {
        {&next.empty, ""},
        {&next.usd, "USD"},
        {&next.s_instrumentation, "instrumentation"},
        {&next.s_provider, "provider"},
        {&next.s_collector, "collector"},
        {&next.s_unpriced, "unpriced"},
        {&next.k_attributes, "attributes"},
        {&next.k_tenant, "tenant"},
        {&next.k_service, "service_name"},
        {&next.k_environment, "environment"},
        {&next.k_feature, "feature"},
        {&next.k_user, "user_id"},
        {&next.k_session, "session_id"},
    };
    for (size_t i = 0; i < sizeof interned / sizeof *interned; i++)
        *interned[i].field = PyUnicode_InternFromString(interned[i].text);
    if (PyErr_Occurred()) {
        config_release(&next);
        return NULL;
    }
    next.ready = 1;
    struct config old = cfg;
    cfg = next;
    config_release(&old); /* all NULL before the first configuration */
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(**names_and_limits): once, before row(); see the module's source."},
    {"row", (PyCFunction)(void (*)(void))row, METH_FASTCALL,
     "row(span, found, resource, wanted, names, entries, used, entry_of) -> tuple | None: `build_rows._row`, or None "
     "where only it can say."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_build_rows", "`build_rows._row` in C for common spans; None where the Python must decide.",
    -1,
    methods,
};

PyMODINIT_FUNC PyInit__build_rows(void) { return PyModule_Create(&module_def); }
