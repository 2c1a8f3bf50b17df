/*
 * A set of non-negative 64-bit integers in an open-addressing hash table the caller owns.
 *
 * Why native: ingestion must list each delivery's persons once (identity vault, audit subject
 * index), and a monthly delivery holds about four rows per person spread over batches. Doing
 * that with Arrow and numpy takes a hash pass per batch (dictionary encode), a sort of the
 * batch's distinct values and a binary search into everything seen: about 0.3 s per million
 * rows, the largest single cost of ingestion after parsing. Here it is one probe per row into a
 * table that stays in cache for a month's persons (about 20 ms per million rows).
 *
 * The table is a writable buffer of uint64 slots whose length is a power of two; slot value 0
 * means empty and a member x is stored as x + 1. Linear probing, a Fibonacci hash. The caller
 * keeps the load at or under one half (growing the table by re-adding its members), so probes
 * are short; the kernel still refuses to loop on a full table.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#define GOLDEN 0x9E3779B97F4A7C15ULL

/* add_new(table, numbers, positions) -> int
 * Adds each of `numbers` (int64, non-negative) to the set held in `table` and writes, in order,
 * the position of every number that was not a member before (its first occurrence in
 * `numbers`) to `positions` (int64, at least len(numbers) long). Returns how many it wrote. */
static PyObject *add_new(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer table, numbers, positions;
    if (!PyArg_ParseTuple(args, "w*y*w*", &table, &numbers, &positions)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t slots = table.len / (Py_ssize_t)sizeof(uint64_t);
    Py_ssize_t count = numbers.len / (Py_ssize_t)sizeof(int64_t);
    if (slots < 2 || (slots & (slots - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError, "the table must hold a power of two of slots");
        goto done;
    }
    if (positions.len < count * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "positions is shorter than numbers");
        goto done;
    }
    uint64_t *slot = (uint64_t *)table.buf;
    const int64_t *value = (const int64_t *)numbers.buf;
    int64_t *out = (int64_t *)positions.buf;
    const uint64_t mask = (uint64_t)slots - 1;
    int shift = 64;
    for (Py_ssize_t s = slots; s > 1; s >>= 1) shift--;
    Py_ssize_t added = 0;
    int error = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (value[i] < 0) {
            error = 1;
            break;
        }
        const uint64_t stored = (uint64_t)value[i] + 1;
        uint64_t at = (stored * GOLDEN) >> shift;
        Py_ssize_t probes = 0;
        while (slot[at] != 0 && slot[at] != stored && probes < slots) {
            at = (at + 1) & mask;
            probes++;
        }
        if (probes == slots) {
            error = 2;
            break;
        }
        if (slot[at] == 0) {
            slot[at] = stored;
            out[added++] = (int64_t)i;
        }
    }
    Py_END_ALLOW_THREADS;
    if (error == 1) {
        PyErr_SetString(PyExc_ValueError, "the set holds non-negative numbers only");
    } else if (error == 2) {
        PyErr_SetString(PyExc_ValueError, "the table is full");
    } else {
        result = PyLong_FromSsize_t(added);
    }
done:
    PyBuffer_Release(&table);
    PyBuffer_Release(&numbers);
    PyBuffer_Release(&positions);
    return result;
}

static PyMethodDef methods[] = {
    {"add_new", add_new, METH_VARARGS,
     "add_new(table, numbers, positions) -> int: add numbers to the hash set in table; write "
     "the positions of those that were not members to positions; return how many."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_number_set",
    "A set of non-negative integers in a caller-owned open-addressing table.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__number_set(void) { return PyModule_Create(&module); }
