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

/* How the estimate's counts are read: a state machine over five classes of characters, whose
   states say where the character read last left the letter, digit and whitespace runs, and whose
   steps say which characters start a token:
   - a letter: the first of a run, then those at offsets 8, 12, 16... (one token up to 8
     letters, one more every 4 after);
   - a digit: those at offsets 0, 3, 6... of a run (groups of up to 3);
   - whitespace: the first of a run that starts with anything but a space, else the second (a
     single space between words is no token).
   The rest (punctuation, non-ASCII, control characters) ends every run; punctuation, non-ASCII
   characters, line breaks and whitespace are counted beside, from a table (PACK).
   Characters are read two a step, by a table of the pairs' steps: the chain of states, not the
   characters, is what bounds the speed. */
enum { OTHER = 0, LETTER, DIGIT, SPACE, BREAK_WS, CLASSES };  /* BREAK_WS: whitespace but a space */
enum {
    NEUTRAL = 0,
    L1 = 1,                        /* L1..L8: 1..8 letters read */
    C1 = 9, C2, C3, C0,            /* 9, 10, 11, 12 letters read, then on by fours */
    D1 = 13, D2, D0,               /* digits read: 1, 2, 0 more than a multiple of 3 */
    SPACE_1 = 16,                  /* one space read: the run is not counted yet */
    WS_COUNTED = 17,               /* in a whitespace run that is counted */
    STATES
};

static unsigned char CLASS[256];                    /* a one-byte character's class */
static unsigned char STEP[STATES][CLASSES];         /* next state | tokens << 5 */
static unsigned char PAIR[STATES][CLASSES * CLASSES];
/* Each one-byte character's other counts, packed in 16-bit fields added up together: its
   punctuation, non-ASCII, line break and whitespace counts. A block of at most BLOCK characters
   cannot carry a field into the next. */
static unsigned long long PACK[256];
static PyObject *type_key;  /* "type" */

static inline int
is_punctuation(unsigned int c)
{
    return (c - 33u < 15u) | (c - 58u < 7u) | (c - 91u < 6u) | (c - 123u < 4u);
}

static unsigned char
step_of(int state, int k)
{
    switch (k) {
    case LETTER:
        if (state >= L1 && state < L1 + 7)
            return state + 1;
        if (state == L1 + 7 || state == C0)
            return C1 | 1 << 5;
        if (state >= C1 && state < C0)
            return state + 1;
        return L1 | 1 << 5;
    case DIGIT:
        if (state == D1)
            return D2;
        if (state == D2)
            return D0;
        return D1 | 1 << 5;
    case SPACE:
        if (state == SPACE_1)
            return WS_COUNTED | 1 << 5;
        if (state == WS_COUNTED)
            return WS_COUNTED;
        return SPACE_1;
    case BREAK_WS:
        if (state == WS_COUNTED)
            return WS_COUNTED;
        return WS_COUNTED | 1 << 5;
    default:
        return NEUTRAL;
    }
}

static void
init_tables(void)
{
    for (int i = 0; i < 256; i++) {
        unsigned char k = OTHER;
        if ((i >= 'A' && i <= 'Z') || (i >= 'a' && i <= 'z'))
            k = LETTER;
        else if (i >= '0' && i <= '9')
            k = DIGIT;
        else if (i == ' ')
            k = SPACE;
        else if (i >= 9 && i <= 13)
            k = BREAK_WS;
        CLASS[i] = k;
    }
    for (int c = 0; c < 256; c++)
        PACK[c] = (unsigned long long)is_punctuation(c) | (unsigned long long)(c >= 128) << 16
                  | (unsigned long long)(c == '\n') << 32 | (unsigned long long)((c == ' ') | (c - 9u < 5u)) << 48;
    for (int state = 0; state < STATES; state++)
        for (int k = 0; k < CLASSES; k++)
            STEP[state][k] = step_of(state, k);
    for (int state = 0; state < STATES; state++)
        for (int a = 0; a < CLASSES; a++)
            for (int b = 0; b < CLASSES; b++) {
                unsigned char first = STEP[state][a], second = STEP[first & 31][b];
                PAIR[state][a * CLASSES + b] = (second & 31) | ((first >> 5) + (second >> 5)) << 5;
            }
}

#define CLASS_OF(c) ((c) < 256 ? CLASS[(c)] : OTHER)

/* The counts so far, and the state the text read last left. */
typedef struct {
    long long count, punctuation, breaks, non_ascii, spaces;  /* spaces: whitespace characters */
    int state;
} Tally;

#define PACK_NON_ASCII (1ULL << 16)
#define PACK_OF(c) ((c) < 256 ? PACK[(c)] : PACK_NON_ASCII)
#define BLOCK 65534  /* even (read two a step), and under 0xFFFF: no field reaches the next */

/* Read s[0:n] on from ``state``, two characters a step (then the last one alone). */
#define READ(s, n, state, count, punctuation, breaks, non_ascii, spaces)               \
    do {                                                                           \
        Py_ssize_t i = 0;                                                          \
        while (i + 1 < (n)) {                                                      \
            Py_ssize_t stop = (n) - i < BLOCK ? (n) - 1 : i + BLOCK;               \
            unsigned long long packed = 0;                                         \
            for (; i < stop; i += 2) {                                             \
                Py_UCS4 a = (s)[i], b = (s)[i + 1];                                \
                unsigned char e = PAIR[state][CLASS_OF(a) * CLASSES + CLASS_OF(b)]; \
                count += e >> 5;                                                   \
                state = e & 31;                                                    \
                packed += PACK_OF(a) + PACK_OF(b);                                 \
            }                                                                      \
            punctuation += packed & 0xffff;                                        \
            non_ascii += (packed >> 16) & 0xffff;                                  \
            breaks += (packed >> 32) & 0xffff;                                     \
            spaces += packed >> 48;                                                \
        }                                                                          \
        if (i < (n)) {                                                             \
            Py_UCS4 c = (s)[i];                                                    \
            unsigned char e = STEP[state][CLASS_OF(c)];                            \
            unsigned long long packed = PACK_OF(c);                                \
            count += e >> 5;                                                       \
            state = e & 31;                                                        \
            punctuation += packed & 0xffff;                                        \
            non_ascii += (packed >> 16) & 0xffff;                                  \
            breaks += (packed >> 32) & 0xffff;                                     \
            spaces += packed >> 48;                                                \
        }                                                                          \
    } while (0)

static void
read_text(Tally *t, PyObject *text)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    int state = t->state;
    long long count = 0, punctuation = 0, breaks = 0, non_ascii = 0, spaces = 0;
    if (kind == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *s = (const Py_UCS1 *)data;
        READ(s, n, state, count, punctuation, breaks, non_ascii, spaces);
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        const Py_UCS2 *s = (const Py_UCS2 *)data;
        READ(s, n, state, count, punctuation, breaks, non_ascii, spaces);
    }
    else {
        const Py_UCS4 *s = (const Py_UCS4 *)data;
        READ(s, n, state, count, punctuation, breaks, non_ascii, spaces);
    }
    t->count += count;
    t->punctuation += punctuation;
    t->breaks += breaks;
    t->non_ascii += non_ascii;
    t->spaces += spaces;
    t->state = state;
}

/* The line break that joins two texts, read on from where ``t`` stopped. */
static void
read_break(Tally *t)
{
    unsigned char e = STEP[t->state][BREAK_WS];
    t->count += e >> 5;
    t->state = e & 31;
    t->breaks++;
    t->spaces++;
}

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
    whole->spaces += own->spaces;
    /* read on from the break, the text's leading whitespace and the break's run are one, counted:
       the states meet at its first other character; an all-whitespace text leaves the run open */
    if (own->spaces != PyUnicode_GET_LENGTH(text))
        whole->state = own->state;
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
        /* any int, as Python compares it: past the C range, every text or none */
        int overflow;
        long long value = PyLong_AsLongLongAndOverflow(limit, &overflow);
        if (value == -1 && PyErr_Occurred())
            return NULL;
        alone_from = overflow > 0 || value > PY_SSIZE_T_MAX ? PY_SSIZE_T_MAX
                     : overflow < 0 || value < 0 ? 0 : (Py_ssize_t)value;
    }
    PyObject *singles = PyList_New(0);
    if (singles == NULL)
        return NULL;
    Tally whole = {0};
    /* the list's size asked at each step, and each text held while read: making a row can run a
       collection, and a finaliser could change the list */
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(texts); i++) {
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
        Py_INCREF(text);
        if (i)
            read_break(&whole);
        if (PyUnicode_GET_LENGTH(text) >= alone_from) {
            Tally own = {0};
            read_text(&own, text);
            merge(&whole, &own, text, i > 0);
            PyObject *row = Py_BuildValue("(nLLLL)", i, own.count, own.punctuation, own.breaks, own.non_ascii);
            if (row == NULL || PyList_Append(singles, row) < 0) {
                Py_XDECREF(row);
                Py_DECREF(text);
                Py_DECREF(singles);
                return NULL;
            }
            Py_DECREF(row);
        }
        else
            read_text(&whole, text);
        Py_DECREF(text);
    }
    return Py_BuildValue("(LLLLN)", whole.count, whole.punctuation, whole.breaks, whole.non_ascii, singles);
}

/* Append every string inside ``value`` to ``out``, depth first (a dict's values as its storage
   holds them, in insertion order, and a list's items; any other value has none: the shapes JSON
   makes, subclasses read the same way). A dict whose "type" is exactly a str in ``held`` (a set,
   or NULL) is appended itself, not walked: ``*placed`` counts them. Deep nesting raises
   RecursionError at the interpreter's C recursion limit (the same as the Python walk's on 3.10 and
   3.11, deeper from 3.12: JSON parsers stop well before either). */
static int gather(PyObject *value, PyObject *out, PyObject *held, Py_ssize_t *placed);

/* gather() of an item of a container, held while it is read. */
static int
gather_item(PyObject *item, PyObject *out, PyObject *held, Py_ssize_t *placed)
{
    Py_INCREF(item);
    int result = gather(item, out, held, placed);
    Py_DECREF(item);
    return result;
}

static int
gather(PyObject *value, PyObject *out, PyObject *held, Py_ssize_t *placed)
{
    if (PyUnicode_Check(value))
        return PyList_Append(out, value);
    int is_dict = PyDict_Check(value);
    if (!is_dict && !PyList_Check(value))
        return 0;
    if (is_dict && held != NULL) {
        PyObject *kind = PyDict_GetItemWithError(value, type_key);
        if (kind == NULL && PyErr_Occurred())
            return -1;
        if (kind != NULL && PyUnicode_CheckExact(kind)) {  /* as type(kind) is str */
            Py_INCREF(kind);  /* a set member's __eq__ could take it out of the dict */
            int in = PySet_Contains(held, kind);
            Py_DECREF(kind);
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
    int failed = 0;
    if (is_dict) {
        Py_ssize_t pos = 0;
        PyObject *key, *item;
        while (!failed && PyDict_Next(value, &pos, &key, &item))
            failed = gather_item(item, out, held, placed) < 0;
    }
    else
        for (Py_ssize_t i = 0; !failed && i < PyList_GET_SIZE(value); i++)
            failed = gather_item(PyList_GET_ITEM(value, i), out, held, placed) < 0;
    Py_LeaveRecursiveCall();
    return failed ? -1 : 0;
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
    Py_BUILD_ASSERT(BLOCK % 2 == 0 && BLOCK < 0xFFFF);
    init_tables();
    if (type_key == NULL && (type_key = PyUnicode_InternFromString("type")) == NULL)
        return NULL;
    return PyModule_Create(&module);
}
