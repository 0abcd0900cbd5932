/* SPDX-License-Identifier: Apache-2.0
 *
 * `native_format.strings` in C: a ClickHouse Native String column, each value's UTF-8 bytes after their length (LEB128).
 *
 * The writer encodes some fifteen String columns of every 50,000-row insert; in Python that is a dictionary probe
 * and a bytes object per value, most of the Native block's cost. Here it is two passes over the values: sizes, then
 * one buffer written in place. The Python in native_format.py (`python_strings`) stays the specification and the fallback; tests hold the two
 * to the same bytes and the same errors (TypeError for a value that is not a str, UnicodeEncodeError for one UTF-8
 * cannot hold).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static Py_ssize_t leb128_size(Py_ssize_t value) {
    Py_ssize_t size = 1;
    while (value >= 0x80) {
        value >>= 7;
        size++;
    }
    return size;
}

static char *leb128(char *out, Py_ssize_t value) {
    while (value >= 0x80) {
        *out++ = (char)((value & 0x7F) | 0x80);
        value >>= 7;
    }
    *out++ = (char)value;
    return out;
}

static PyObject *strings(PyObject *module, PyObject *values) {
    /* A tuple (a list is copied, a pointer each): nothing can change it between the two passes. */
    PyObject *sequence = PySequence_Tuple(values);
    if (sequence == NULL) return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(sequence);
    PyObject **items = &PyTuple_GET_ITEM(sequence, 0);
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyUnicode_Check(items[i])) {
            PyErr_Format(PyExc_TypeError, "a String column takes str, not %.100s", Py_TYPE(items[i])->tp_name);
            Py_DECREF(sequence);
            return NULL;
        }
        Py_ssize_t size;
        if (PyUnicode_AsUTF8AndSize(items[i], &size) == NULL) { /* e.g. a lone surrogate */
            Py_DECREF(sequence);
            return NULL;
        }
        total += leb128_size(size) + size;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        Py_DECREF(sequence);
        return NULL;
    }
    char *cursor = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t size;
        const char *data = PyUnicode_AsUTF8AndSize(items[i], &size); /* cached by the first pass: cannot fail */
        cursor = leb128(cursor, size);
        memcpy(cursor, data, (size_t)size);
        cursor += size;
    }
    Py_DECREF(sequence);
    return out;
}

static PyMethodDef methods[] = {
    {"strings", strings, METH_O, "strings(values) -> bytes: a Native String column of `values` (str each)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_native_format", "ClickHouse Native String columns in C; see native_format.py.", -1, methods,
};

PyMODINIT_FUNC PyInit__native_format(void) { return PyModule_Create(&module_def); }
