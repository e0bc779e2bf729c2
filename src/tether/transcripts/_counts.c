/* What tether.transcripts.tokens counts, in C: the strings of a JSON value, and what its estimate
   adds up, counted in one pass over each text's characters.

   An optional speed-up: tokens.py holds the definition, in Python, and uses this module when it
   was built (pip builds it where a C compiler is at hand). tests/test_token_estimate.py checks
   that both give the same strings and parts for every value and text it tries, and
   bench/bench_compaction.py says which ran.

   The Python version reads the text's UTF-8; this one reads its characters. They agree: every
   class the estimate tells apart (letters, digits, whitespace, punctuation) is ASCII, and a
   non-ASCII character (a lone surrogate too) is one UTF-8 lead byte there, one character here. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* SPACE: any ASCII whitespace (a space, a line break, a tab...); NON_ASCII: any character from 128 */
enum { OTHER = 0, LETTER, DIGIT, SPACE, PUNCT, NON_ASCII };

static unsigned char CLASS[128];
static PyObject *type_key;  /* "type" */

static void
init_classes(void)
{
    for (int i = 0; i < 128; i++) {
        unsigned char k = OTHER;
        if ((i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z'))
            k = LETTER;
        else if (i >= '0' && i <= '9')
            k = DIGIT;
        else if (i == ' ' || (i >= 9 && i <= 13))
            k = SPACE;
        else if ((i >= 33 && i <= 47) || (i >= 58 && i <= 64) || (i >= 91 && i <= 96) || (i >= 123 && i <= 126))
            k = PUNCT;
        CLASS[i] = k;
    }
}

/* The counts so far, and where the text read last left its runs. */
typedef struct {
    long long count, punctuation, breaks, non_ascii;
    Py_ssize_t letters, digits, spaces;  /* the length of the run each is in at the last character */
    int space_first;                     /* the whitespace run began with a space */
} Tally;

/* The tokens a run of letters of ``n`` makes: one up to 8, one more every 4 after. */
static inline long long
letter_tokens(Py_ssize_t n)
{
    return n == 0 ? 0 : n < 9 ? 1 : 1 + (n - 5) / 4;
}

/* A run of ``r`` characters of class ``k`` (``breaks`` of them line breaks; for whitespace,
   ``space_first``: whether the run's first is a space), read on from where ``t`` stopped. A run
   that goes on across texts adds only what its new length makes. */
static inline void
add_run(Tally *t, int k, Py_ssize_t r, Py_ssize_t breaks, int space_first)
{
    if (k == LETTER) {
        t->count += letter_tokens(t->letters + r) - letter_tokens(t->letters);
        t->letters += r;
        t->digits = t->spaces = 0;
        return;
    }
    t->letters = 0;
    if (k == DIGIT) {  /* digits go in groups of up to 3 */
        t->count += (t->digits + r + 2) / 3 - (t->digits + 2) / 3;
        t->digits += r;
        t->spaces = 0;
        return;
    }
    t->digits = 0;
    if (k == SPACE) {
        /* a whitespace run counts when it starts with a line break or a tab, or with a space
           and goes on */
        if (t->spaces == 0) {
            t->space_first = space_first;
            if (!space_first || r > 1)
                t->count++;
        }
        else if (t->spaces == 1 && t->space_first)
            t->count++;
        t->spaces += r;
        t->breaks += breaks;
        return;
    }
    t->spaces = 0;
    if (k == PUNCT)
        t->punctuation += r;
    else if (k == NON_ASCII)
        t->non_ascii += r;
}

#define CLASS_OF(c) ((c) < 128 ? CLASS[(c)] : NON_ASCII)

/* Read characters s[0:n] run by run: each run is one tight loop. */
#define READ_RUNS(s, n, t)                                                    \
    do {                                                                      \
        Py_ssize_t i = 0;                                                     \
        while (i < (n)) {                                                     \
            int k = CLASS_OF((s)[i]);                                         \
            Py_ssize_t j = i + 1, breaks = 0;                                 \
            if (k == SPACE) {                                                 \
                breaks = (s)[i] == '\n';                                      \
                while (j < (n) && CLASS_OF((s)[j]) == SPACE) {                \
                    breaks += (s)[j] == '\n';                                 \
                    j++;                                                      \
                }                                                             \
            }                                                                 \
            else                                                              \
                while (j < (n) && CLASS_OF((s)[j]) == k)                      \
                    j++;                                                      \
            add_run((t), k, j - i, breaks, (s)[i] == ' ');                    \
            i = j;                                                            \
        }                                                                     \
    } while (0)

/* A str made by the old wide-character API has its characters in place only once made ready
   (Python 3.12 has no such str). */
static int
ready(PyObject *text)
{
#if PY_VERSION_HEX < 0x030C0000
    return PyUnicode_READY(text) == 0;
#else
    (void)text;
    return 1;
#endif
}

static void
read_text(Tally *t, PyObject *text)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *s = (const Py_UCS1 *)data;
        READ_RUNS(s, n, t);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        const Py_UCS2 *s = (const Py_UCS2 *)data;
        READ_RUNS(s, n, t);
    }
    else {
        const Py_UCS4 *s = (const Py_UCS4 *)data;
        READ_RUNS(s, n, t);
    }
}

static int
is_ws(Py_UCS4 c)
{
    return c == ' ' || (c >= 9 && c <= 13);
}

/* Whether a text's leading whitespace run is counted when the text is read alone. */
static int
lead_counted(PyObject *text)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n == 0)
        return 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 first = PyUnicode_READ(kind, data, 0);
    return is_ws(first) && (first != ' ' || (n > 1 && is_ws(PyUnicode_READ(kind, data, 1))));
}

/* Add ``own``, a text read alone, to ``whole``, as if the text had been read on from where
   ``whole`` stopped: after a line break (``after_break``), which ends any letter or digit run
   and leaves a whitespace run open that is already counted, so the text's leading run goes on
   in it and is not counted again. */
static void
merge(Tally *whole, const Tally *own, PyObject *text, int after_break)
{
    if (!after_break) {
        *whole = *own;
        return;
    }
    whole->count += own->count - lead_counted(text);
    whole->punctuation += own->punctuation;
    whole->breaks += own->breaks;
    whole->non_ascii += own->non_ascii;
    whole->letters = own->letters;
    whole->digits = own->digits;
    if (own->spaces == PyUnicode_GET_LENGTH(text))
        whole->spaces += own->spaces;  /* all whitespace: the run goes on */
    else {
        whole->spaces = own->spaces;
        whole->space_first = own->space_first;
    }
}

/* parts(text) -> (count, punctuation, line breaks, non-ASCII characters, lead, trail, blank):
   tokens._parts. */
static PyObject *
parts(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "parts() takes a str");
        return NULL;
    }
    if (!ready(text))
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n == 0)
        return Py_BuildValue("(iiiiiiO)", 0, 0, 0, 0, 0, 0, Py_True);
    Tally t = {0};
    read_text(&t, text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    int lead = lead_counted(text);
    Py_ssize_t end = n;
    while (end && is_ws(PyUnicode_READ(kind, data, end - 1)))
        end--;
    int trail = 0;
    if (end != n)
        trail = PyUnicode_READ(kind, data, end) != ' ' || n - end > 1;
    return Py_BuildValue("(LLLLiiO)", t.count, t.punctuation, t.breaks, t.non_ascii, lead, trail,
                         end == 0 ? Py_True : Py_False);
}

/* joined(texts, alone_from) -> (count, punctuation, line breaks, non-ASCII characters, singles):
   the parts of "\n".join(texts) and, for each text of alone_from characters or more (None: none),
   (index, count, punctuation, line breaks, non-ASCII characters) of the text on its own. */
static PyObject *
joined(PyObject *self, PyObject *args)
{
    PyObject *texts, *limit;
    if (!PyArg_ParseTuple(args, "OO", &texts, &limit))
        return NULL;
    if (!PyList_Check(texts)) {
        PyErr_SetString(PyExc_TypeError, "joined() takes a list of str");
        return NULL;
    }
    Py_ssize_t alone_from = PY_SSIZE_T_MAX;
    if (limit != Py_None) {
        alone_from = PyLong_AsSsize_t(limit);
        if (alone_from == -1 && PyErr_Occurred())
            return NULL;
    }
    PyObject *singles = PyList_New(0);
    if (singles == NULL)
        return NULL;
    Tally whole = {0};
    Py_ssize_t size = PyList_GET_SIZE(texts);
    for (Py_ssize_t i = 0; i < size; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(text)) {
            Py_DECREF(singles);
            PyErr_SetString(PyExc_TypeError, "joined() takes a list of str");
            return NULL;
        }
        if (!ready(text)) {
            Py_DECREF(singles);
            return NULL;
        }
        if (i)
            add_run(&whole, SPACE, 1, 1, 0);
        if (PyUnicode_GET_LENGTH(text) >= alone_from) {
            Tally own = {0};
            read_text(&own, text);
            merge(&whole, &own, text, i > 0);
            PyObject *row = Py_BuildValue("(nLLLL)", i, own.count, own.punctuation, own.breaks, own.non_ascii);
            if (row == NULL || PyList_Append(singles, row) < 0) {
                Py_XDECREF(row);
                Py_DECREF(singles);
                return NULL;
            }
            Py_DECREF(row);
        }
        else
            read_text(&whole, text);
    }
    return Py_BuildValue("(LLLLN)", whole.count, whole.punctuation, whole.breaks, whole.non_ascii, singles);
}

/* Append every string inside ``value`` to ``out``, depth first (dict values in order, list items
   in order; any other value has none). A dict whose "type" is a str in ``held`` (a set, or NULL)
   is appended itself, not walked: ``*placed`` counts them. Deep nesting raises RecursionError, as
   the walk in Python does. */
static int
gather(PyObject *value, PyObject *out, PyObject *held, Py_ssize_t *placed)
{
    if (PyUnicode_Check(value))
        return PyList_Append(out, value);
    if (PyDict_Check(value)) {
        if (held != NULL) {
            PyObject *kind = PyDict_GetItemWithError(value, type_key);
            if (kind == NULL && PyErr_Occurred())
                return -1;
            if (kind != NULL && PyUnicode_CheckExact(kind)) {  /* as type(kind) is str */
                int in = PySet_Contains(held, kind);
                if (in < 0)
                    return -1;
                if (in) {
                    (*placed)++;
                    return PyList_Append(out, value);
                }
            }
        }
        if (Py_EnterRecursiveCall(" while gathering the strings of a JSON value"))
            return -1;
        Py_ssize_t pos = 0;
        PyObject *key, *item;
        int failed = 0;
        while (PyDict_Next(value, &pos, &key, &item)) {
            Py_INCREF(item);
            failed = gather(item, out, held, placed) < 0;
            Py_DECREF(item);
            if (failed)
                break;
        }
        Py_LeaveRecursiveCall();
        return failed ? -1 : 0;
    }
    if (PyList_Check(value)) {
        if (Py_EnterRecursiveCall(" while gathering the strings of a JSON value"))
            return -1;
        int failed = 0;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
            PyObject *item = PyList_GET_ITEM(value, i);
            Py_INCREF(item);
            failed = gather(item, out, held, placed) < 0;
            Py_DECREF(item);
            if (failed)
                break;
        }
        Py_LeaveRecursiveCall();
        return failed ? -1 : 0;
    }
    return 0;
}

/* strings(value) -> list: every string inside a JSON value, depth first (tokens.strings). */
static PyObject *
strings(PyObject *self, PyObject *value)
{
    PyObject *out = PyList_New(0);
    Py_ssize_t placed = 0;
    if (out == NULL || gather(value, out, NULL, &placed) < 0) {
        Py_XDECREF(out);
        return NULL;
    }
    return out;
}

/* strings_but(value, types) -> (list, held): as strings(), but a dict whose "type" is a str in
   the set ``types`` is in the list itself, unwalked; ``held`` is how many are. */
static PyObject *
strings_but(PyObject *self, PyObject *args)
{
    PyObject *value, *types;
    if (!PyArg_ParseTuple(args, "OO!", &value, &PyFrozenSet_Type, &types))
        return NULL;
    PyObject *out = PyList_New(0);
    Py_ssize_t placed = 0;
    if (out == NULL || gather(value, out, types, &placed) < 0) {
        Py_XDECREF(out);
        return NULL;
    }
    return Py_BuildValue("(Nn)", out, placed);
}

static PyMethodDef methods[] = {
    {"parts", parts, METH_O, "The parts of a text's estimate: tokens._parts."},
    {"strings", strings, METH_O, "Every string inside a JSON value, depth first: tokens.strings."},
    {"strings_but", strings_but, METH_VARARGS,
     "strings(), with the dicts whose \"type\" is in a frozenset of names kept whole in the list."},
    {"joined", joined, METH_VARARGS, "The parts of texts joined by line breaks, and of the long ones alone."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_counts", "What tether's token estimate adds up, counted in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__counts(void)
{
    init_classes();
    if (type_key == NULL && (type_key = PyUnicode_InternFromString("type")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
