/*
 * The audit log's verification kernel: entries checked and hashed, and the Merkle tree folded,
 * without a Python object per entry.
 *
 * Why native: verifying a national log means a million entries. In Python each costs a JSON
 * parse, a canonical re-encoding and two hash calls, about ten microseconds; the hashing
 * itself is a fraction of one. Here each entry is scanned once and hashed on OpenSSL's
 * SHA-256, with the GIL released, so the database's own checks can run on the other core.
 *
 * check_entries(rows, first_index, nodes, leaves_out, subjects_out) -> (count, reason)
 *   rows: a list of audit_entries rows as plain tuples (idx, recorded_at, event_type, actor,
 *   dataset, recipient, body, leaf_hash), in index order from first_index; nodes: the
 *   level-0 tree nodes of the same indexes, concatenated. For each entry: the stored index
 *   must be its position, the body must be JSON in the
 *   exact canonical form Python's json.dumps(sort_keys=True, separators=(",", ":"),
 *   ensure_ascii=False) writes (no whitespace, keys strictly increasing - so sorted and
 *   unique - at every level, valid UTF-8, only the escapes it emits, integers without leading
 *   zeroes), its top-level "index" must equal its position, SHA-256(0x00 || body) must equal
 *   the stored leaf hash and level-0 node, and its type, actor, refs.dataset, refs.recipient
 *   and time must equal the stored search columns. Leaf hashes are written to leaves_out (32
 *   bytes each), and subjects_out[i] is 1 where the body declares subjects. Returns how
 *   many entries passed and, for the first that did not, why; a body the scan cannot decide
 *   (a float, an escape in a key or a searchable value) is reported as "defer" for the caller's
 *   exact Python check.
 *
 * fold(state, leaves, sizes) -> roots
 *   state: a bytearray of 8 + 64 * 32 bytes (count, then the compact range's hashes); leaves:
 *   concatenated leaf hashes appended to the tree; sizes: ascending tree sizes within the new
 *   range whose root hash is wanted. Returns the roots, concatenated.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_CTX: no EVP allocation per entry */
#include <openssl/sha.h>

#define HASH 32
#define MAX_DEPTH 64

typedef struct {
    const unsigned char *start;
    Py_ssize_t len; /* -1: absent */
    int escaped;
} span_t;

enum { F_TYPE, F_ACTOR, F_DATASET, F_RECIPIENT, F_TIME, N_FIELDS };

typedef struct {
    const unsigned char *p;
    const unsigned char *end;
    int defer;
    int depth;
    long long index;         /* the top-level "index", -1 if absent */
    int subjects;            /* a top-level "subjects" member is present */
    span_t field[N_FIELDS];  /* the searchable values, as raw string bytes */
} scan_t;

static int scan_value(scan_t *s, int top_index_value, span_t *capture);
static int scan_object(scan_t *s, int top, int refs);

static int utf8_char(scan_t *s) {
    unsigned char c = *s->p;
    int n;
    uint32_t cp;
    if (c < 0x80) {
        s->p++;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 1;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (s->end - s->p <= n) return 0;
    for (int i = 1; i <= n; i++) {
        unsigned char d = s->p[i];
        if ((d & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return 0;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    s->p += n + 1;
    return 1;
}

/* A string as json.dumps(ensure_ascii=False) writes it; *escaped set if it holds an escape. */
static int scan_string(scan_t *s, const unsigned char **start, Py_ssize_t *len, int *escaped) {
    if (s->p >= s->end || *s->p != '"') return 0;
    s->p++;
    *start = s->p;
    *escaped = 0;
    while (s->p < s->end) {
        unsigned char c = *s->p;
        if (c == '"') {
            *len = s->p - *start;
            s->p++;
            return 1;
        }
        if (c < 0x20) return 0;
        if (c == '\\') {
            *escaped = 1;
            if (s->end - s->p < 2) return 0;
            unsigned char e = s->p[1];
            if (e == '"' || e == '\\' || e == 'n' || e == 'r' || e == 't' || e == 'b' ||
                e == 'f') {
                s->p += 2;
                continue;
            }
            if (e != 'u' || s->end - s->p < 6) return 0;
            /* only \u00XX for a control character without a short form, lower-case hex */
            if (s->p[2] != '0' || s->p[3] != '0') return 0;
            unsigned char h = s->p[4], l = s->p[5];
            if (!(h == '0' || h == '1')) return 0;
            if (!((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f'))) return 0;
            int v = (h - '0') * 16 + (l <= '9' ? l - '0' : l - 'a' + 10);
            if (v == 8 || v == 9 || v == 10 || v == 12 || v == 13) return 0;
            s->p += 6;
            continue;
        }
        if (!utf8_char(s)) return 0;
    }
    return 0;
}

static int scan_number(scan_t *s, long long *value) {
    const unsigned char *start = s->p;
    int negative = 0;
    if (s->p < s->end && *s->p == '-') {
        negative = 1;
        s->p++;
    }
    if (s->p >= s->end || *s->p < '0' || *s->p > '9') return 0;
    if (*s->p == '0' && s->p + 1 < s->end && s->p[1] >= '0' && s->p[1] <= '9') return 0;
    unsigned long long v = 0;
    int digits = 0;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
        if (digits < 18) v = v * 10 + (unsigned long long)(*s->p - '0');
        digits++;
        s->p++;
    }
    if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E')) {
        s->defer = 1; /* a float: Python's repr decides its canonical form */
        return 0;
    }
    if (negative && s->p - start == 2 && start[1] == '0') return 0; /* -0 is written 0 */
    *value = digits <= 18 ? (negative ? -(long long)v : (long long)v) : -2;
    return 1;
}

static int key_less(const unsigned char *a, Py_ssize_t al, const unsigned char *b,
                    Py_ssize_t bl) {
    Py_ssize_t n = al < bl ? al : bl;
    int c = memcmp(a, b, (size_t)n);
    return c < 0 || (c == 0 && al < bl);
}

static span_t *wanted(scan_t *s, int top, int refs, const unsigned char *key, Py_ssize_t n) {
#define IS(lit) (n == (Py_ssize_t)sizeof(lit) - 1 && memcmp(key, lit, sizeof(lit) - 1) == 0)
    if (top && IS("type")) return &s->field[F_TYPE];
    if (top && IS("actor")) return &s->field[F_ACTOR];
    if (top && IS("time")) return &s->field[F_TIME];
    if (refs && IS("dataset")) return &s->field[F_DATASET];
    if (refs && IS("recipient")) return &s->field[F_RECIPIENT];
#undef IS
    return NULL;
}

static int scan_object(scan_t *s, int top, int refs) {
    const unsigned char *prev = NULL;
    Py_ssize_t prev_len = 0;
    s->p++; /* '{' */
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 1;
    }
    for (;;) {
        const unsigned char *key;
        Py_ssize_t key_len;
        int escaped;
        if (!scan_string(s, &key, &key_len, &escaped)) return 0;
        if (escaped) {
            s->defer = 1; /* ordering of escaped keys: Python decides */
            return 0;
        }
        if (prev != NULL && !key_less(prev, prev_len, key, key_len)) return 0;
        prev = key;
        prev_len = key_len;
        if (s->p >= s->end || *s->p != ':') return 0;
        s->p++;
        int is_index = top && key_len == 5 && memcmp(key, "index", 5) == 0;
        if (top && key_len == 8 && memcmp(key, "subjects", 8) == 0) s->subjects = 1;
        if (top && key_len == 4 && memcmp(key, "refs", 4) == 0 && s->p < s->end && *s->p == '{') {
            if (++s->depth > MAX_DEPTH) return 0;
            int ok = scan_object(s, 0, 1);
            s->depth--;
            if (!ok) return 0;
        } else if (!scan_value(s, is_index, wanted(s, top, refs, key, key_len))) {
            return 0;
        }
        if (s->p >= s->end) return 0;
        if (*s->p == '}') {
            s->p++;
            return 1;
        }
        if (*s->p != ',') return 0;
        s->p++;
    }
}

static int scan_value(scan_t *s, int top_index_value, span_t *capture) {
    if (s->p >= s->end) return 0;
    unsigned char c = *s->p;
    if (c == '{' || c == '[') {
        if (++s->depth > MAX_DEPTH) {
            s->defer = 1;
            return 0;
        }
        int ok;
        if (c == '{') {
            ok = scan_object(s, 0, 0);
        } else {
            s->p++;
            ok = 1;
            if (s->p < s->end && *s->p == ']') {
                s->p++;
            } else {
                for (;;) {
                    if (!scan_value(s, 0, NULL)) {
                        ok = 0;
                        break;
                    }
                    if (s->p < s->end && *s->p == ']') {
                        s->p++;
                        break;
                    }
                    if (s->p >= s->end || *s->p != ',') {
                        ok = 0;
                        break;
                    }
                    s->p++;
                }
            }
        }
        s->depth--;
        return ok;
    }
    if (c == '"') {
        const unsigned char *start;
        Py_ssize_t len;
        int escaped;
        if (!scan_string(s, &start, &len, &escaped)) return 0;
        if (capture != NULL) {
            capture->start = start;
            capture->len = len;
            capture->escaped = escaped;
        }
        return 1;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        long long v;
        if (!scan_number(s, &v)) return 0;
        if (top_index_value) s->index = v;
        return 1;
    }
    static const char *literals[] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(literals[i]);
        if ((size_t)(s->end - s->p) >= n && memcmp(s->p, literals[i], n) == 0) {
            s->p += n;
            return 1;
        }
    }
    return 0;
}

static const char HEX[] = "0123456789abcdef";

static int hex_equals(const char *hex, Py_ssize_t n, const unsigned char *digest) {
    if (n != 2 * HASH) return 0;
    for (int i = 0; i < HASH; i++) {
        if (hex[2 * i] != HEX[digest[i] >> 4] || hex[2 * i + 1] != HEX[digest[i] & 15]) return 0;
    }
    return 1;
}

/* The stored copies of what one entry's body says: its row of audit_entries, and the level-0
 * node that the tiles are served from (NULL if the node is missing). */
typedef struct {
    long long idx;
    const unsigned char *body;
    Py_ssize_t body_len;
    const char *value[N_FIELDS]; /* NULL for a stored NULL */
    Py_ssize_t value_len[N_FIELDS];
    const char *leaf_hex;
    Py_ssize_t leaf_hex_len;
    const unsigned char *node;
} stored_t;

/* NULL if the entry is canonical, at `expected`, and every stored copy agrees with it; else
 * the reason (a static string). */
static const char *check_one(const stored_t *row, long long expected, unsigned char *leaf,
                             char *subjects) {
    if (row->idx != expected) return "the stored indexes are not contiguous";
    scan_t s;
    memset(&s, 0, sizeof(s));
    s.p = row->body;
    s.end = row->body + row->body_len;
    s.index = -1;
    for (int i = 0; i < N_FIELDS; i++) s.field[i].len = -1;
    int ok = row->body_len > 0 && row->body[0] == '{' && scan_object(&s, 1, 0) && s.p == s.end;
    if (!ok) return s.defer ? "defer" : "the stored body is not in canonical form";
    if (s.index != expected) return "the hashed body says another index";
    *subjects = (char)s.subjects;
    SHA256_CTX ctx;
    unsigned char zero = 0;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, &zero, 1);
    SHA256_Update(&ctx, row->body, (size_t)row->body_len);
    SHA256_Final(leaf, &ctx);
    if (!hex_equals(row->leaf_hex, row->leaf_hex_len, leaf))
        return "the stored leaf hash does not match the body";
    for (int f = 0; f < N_FIELDS; f++) {
        const span_t *got = &s.field[f];
        if (got->len >= 0 && got->escaped) return "defer"; /* compare decoded: Python */
        if ((row->value[f] == NULL) != (got->len < 0))
            return "the stored search columns do not match the hashed body";
        if (row->value[f] != NULL &&
            (got->len != row->value_len[f] ||
             memcmp(got->start, row->value[f], (size_t)got->len) != 0))
            return "the stored search columns do not match the hashed body";
    }
    if (row->node == NULL || memcmp(row->node, leaf, HASH) != 0)
        return "the stored tree node does not match the entry's leaf hash";
    return NULL;
}

/* A text column as the driver gave it: str, or bytes (SQLite with text_factory=bytes, which
 * spares a UTF-8 decode per value). */
static const char *text_of(PyObject *value, Py_ssize_t *len) {
    if (PyBytes_Check(value)) {
        *len = PyBytes_GET_SIZE(value);
        return PyBytes_AS_STRING(value);
    }
    if (PyUnicode_Check(value)) return PyUnicode_AsUTF8AndSize(value, len);
    PyErr_SetString(PyExc_TypeError, "a text column is str, bytes or None");
    return NULL;
}

/* The row's columns, in audit_entries' order: idx, recorded_at, event_type, actor, dataset,
 * recipient, body, leaf_hash. */
static int read_row(PyObject *tuple, stored_t *row) {
    static const int column[N_FIELDS] = {2, 3, 4, 5, 1}; /* type, actor, dataset, recipient, time */
    if (!PyTuple_Check(tuple) || PyTuple_GET_SIZE(tuple) != 8) {
        PyErr_SetString(PyExc_TypeError, "a row is a tuple of audit_entries' eight columns");
        return 0;
    }
    row->idx = PyLong_AsLongLong(PyTuple_GET_ITEM(tuple, 0));
    if (row->idx == -1 && PyErr_Occurred()) return 0;
    PyObject *body = PyTuple_GET_ITEM(tuple, 6);
    if (!PyBytes_Check(body)) {
        PyErr_SetString(PyExc_TypeError, "body is bytes");
        return 0;
    }
    row->body = (const unsigned char *)PyBytes_AS_STRING(body);
    row->body_len = PyBytes_GET_SIZE(body);
    row->leaf_hex = text_of(PyTuple_GET_ITEM(tuple, 7), &row->leaf_hex_len);
    if (row->leaf_hex == NULL) return 0;
    for (int f = 0; f < N_FIELDS; f++) {
        PyObject *v = PyTuple_GET_ITEM(tuple, column[f]);
        if (v == Py_None) {
            row->value[f] = NULL;
            row->value_len[f] = 0;
            continue;
        }
        row->value[f] = text_of(v, &row->value_len[f]);
        if (row->value[f] == NULL) return 0;
    }
    return 1;
}

static PyObject *check_entries(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *rows;
    long long first;
    Py_buffer nodes, out, flags;
    if (!PyArg_ParseTuple(args, "O!Ly*w*w*", &PyList_Type, &rows, &first, &nodes, &out, &flags))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(rows);
    stored_t *stored = PyMem_Malloc(sizeof(*stored) * (size_t)(n ? n : 1));
    const char *reason = NULL;
    Py_ssize_t done = 0;
    PyObject *result = NULL;
    if (stored == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (out.len < n * HASH || flags.len < n) {
        PyErr_SetString(PyExc_ValueError, "the outputs are smaller than the rows");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!read_row(PyList_GET_ITEM(rows, i), &stored[i])) goto done;
        stored[i].node = (i + 1) * HASH <= nodes.len ? (const unsigned char *)nodes.buf + i * HASH
                                                      : NULL;
    }
    unsigned char *leaves = out.buf;
    char *subjects = flags.buf;
    Py_BEGIN_ALLOW_THREADS
    for (; done < n; done++) {
        reason = check_one(&stored[done], first + done, leaves + done * HASH, subjects + done);
        if (reason != NULL) break;
    }
    Py_END_ALLOW_THREADS
    result = reason == NULL ? Py_BuildValue("(nO)", done, Py_None)
                            : Py_BuildValue("(ns)", done, reason);
done:
    PyMem_Free(stored);
    PyBuffer_Release(&nodes);
    PyBuffer_Release(&out);
    PyBuffer_Release(&flags);
    return result;
}

static void node(const unsigned char *left, const unsigned char *right, unsigned char *out) {
    SHA256_CTX ctx;
    unsigned char one = 1;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, &one, 1);
    SHA256_Update(&ctx, left, HASH);
    SHA256_Update(&ctx, right, HASH);
    SHA256_Final(out, &ctx);
}

/* The root of the tree of `count` leaves held as its compact range (one hash per set bit of
 * count, largest subtree first). */
static void range_root(const unsigned char *range, uint64_t count, unsigned char *out) {
    int k = __builtin_popcountll(count);
    memcpy(out, range + (k - 1) * HASH, HASH);
    for (int i = k - 2; i >= 0; i--) node(range + i * HASH, out, out);
}

static PyObject *fold(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer state, leaves;
    PyObject *sizes;
    if (!PyArg_ParseTuple(args, "w*y*O!", &state, &leaves, &PyList_Type, &sizes)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t wanted = PyList_GET_SIZE(sizes);
    uint64_t *targets = PyMem_Malloc(sizeof(uint64_t) * (size_t)(wanted ? wanted : 1));
    if (state.len != 8 + 64 * HASH || leaves.len % HASH != 0 || targets == NULL) {
        PyErr_SetString(PyExc_ValueError, "bad fold state or leaves");
        goto done;
    }
    for (Py_ssize_t i = 0; i < wanted; i++) {
        targets[i] = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(sizes, i));
        if (PyErr_Occurred()) goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, wanted * HASH);
    if (result == NULL) goto done;
    unsigned char *roots = (unsigned char *)PyBytes_AS_STRING(result);
    unsigned char *st = state.buf;
    uint64_t count;
    memcpy(&count, st, 8);
    unsigned char *range = st + 8;
    const unsigned char *leaf = leaves.buf;
    Py_ssize_t n = leaves.len / HASH, next = 0, bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        /* append: merge while the lowest bit of count is set */
        unsigned char h[HASH];
        memcpy(h, leaf + i * HASH, HASH);
        int k = __builtin_popcountll(count);
        uint64_t c = count;
        while (c & 1) {
            k--;
            node(range + k * HASH, h, h);
            c >>= 1;
        }
        memcpy(range + k * HASH, h, HASH);
        count++;
        while (next < wanted && targets[next] == count) {
            range_root(range, count, roots + next * HASH);
            next++;
        }
        if (next < wanted && targets[next] < count) bad = 1;
    }
    Py_END_ALLOW_THREADS
    memcpy(st, &count, 8);
    if (bad || next != wanted) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "a wanted size is outside the leaves given");
    }
done:
    PyMem_Free(targets);
    PyBuffer_Release(&state);
    PyBuffer_Release(&leaves);
    return result;
}

static PyMethodDef methods[] = {
    {"check_entries", check_entries, METH_VARARGS, "Check and hash canonical audit entries."},
    {"fold", fold, METH_VARARGS, "Append leaf hashes; roots at the wanted sizes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tlog_kernel", NULL, -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__tlog_kernel(void) { return PyModule_Create(&module); }
