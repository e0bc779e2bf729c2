/* The UTF-8 of many texts joined by line breaks, and its lower case, made in one pass: what the
   redaction's anchor search reads (redact.Redactor.find_many).

   An optional speed-up, as tether.transcripts._counts is: redact.py holds the definition, in
   Python, and uses this module when pip built it. tests/test_redaction_prefilter.py checks that
   both give the same bytes. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* bytes.lower(): only the ASCII capitals change. A loop the compiler makes vector code of (at
   -O3, CPython's own flags for extensions). */
static void
lower_copy(char *out, const char *in, Py_ssize_t n)
{
    const unsigned char *s = (const unsigned char *)in;
    unsigned char *d = (unsigned char *)out;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        d[i] = c + (((unsigned char)(c - 'A') < 26) << 5);
    }
}

/* joined(texts) -> (data, lowered, starts): data is b"\n".join(t.encode("utf-8", "surrogatepass")
   for t in texts), lowered is data.lower(), starts[i] is where text i's bytes start less i (the
   line breaks before it): the running sum of the texts' lengths in bytes, from 0, one more than
   there are texts. */
static PyObject *
joined(PyObject *self, PyObject *texts)
{
    if (!PyList_Check(texts)) {
        PyErr_SetString(PyExc_TypeError, "joined() takes a list of str");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(texts);
    /* each text's UTF-8: the str's own characters when it is ASCII, else encoded here */
    PyObject **encoded = PyMem_Calloc(n ? n : 1, sizeof(PyObject *));
    PyObject *starts = PyList_New(n + 1);
    PyObject *data = NULL, *lowered = NULL, *result = NULL;
    if (encoded == NULL || starts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "joined() takes a list of str");
            goto done;
        }
#if PY_VERSION_HEX < 0x030C0000
        if (PyUnicode_READY(text) < 0)
            goto done;
#endif
        PyObject *start = PyLong_FromSsize_t(total);
        if (start == NULL)
            goto done;
        PyList_SET_ITEM(starts, i, start);
        Py_ssize_t len;
        if (PyUnicode_IS_ASCII(text))
            len = PyUnicode_GET_LENGTH(text);
        else {
            encoded[i] = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
            if (encoded[i] == NULL)
                goto done;
            len = PyBytes_GET_SIZE(encoded[i]);
        }
        if (len > PY_SSIZE_T_MAX - total - n) {  /* the joined bytes and their line breaks */
            PyErr_SetString(PyExc_OverflowError, "the joined texts are too long");
            goto done;
        }
        total += len;
    }
    PyObject *end = PyLong_FromSsize_t(total);
    if (end == NULL)
        goto done;
    PyList_SET_ITEM(starts, n, end);
    Py_ssize_t size = total + (n ? n - 1 : 0);
    data = PyBytes_FromStringAndSize(NULL, size);
    lowered = PyBytes_FromStringAndSize(NULL, size);
    if (data == NULL || lowered == NULL)
        goto done;
    char *d = PyBytes_AS_STRING(data), *l = PyBytes_AS_STRING(lowered);
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i) {
            d[at] = l[at] = '\n';
            at++;
        }
        PyObject *text = PyList_GET_ITEM(texts, i);
        const char *src;
        Py_ssize_t len;
        if (encoded[i] != NULL) {
            src = PyBytes_AS_STRING(encoded[i]);
            len = PyBytes_GET_SIZE(encoded[i]);
        }
        else {
            src = (const char *)PyUnicode_DATA(text);
            len = PyUnicode_GET_LENGTH(text);
        }
        memcpy(d + at, src, len);
        lower_copy(l + at, src, len);
        at += len;
    }
    result = Py_BuildValue("(OOO)", data, lowered, starts);
done:
    if (encoded != NULL) {
        for (Py_ssize_t i = 0; i < n; i++)
            Py_XDECREF(encoded[i]);
        PyMem_Free(encoded);
    }
    Py_XDECREF(data);
    Py_XDECREF(lowered);
    Py_XDECREF(starts);
    return result;
}

static PyMethodDef methods[] = {
    {"joined", joined, METH_O, "(the UTF-8 of texts joined by line breaks, its lower case, where each starts)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_utf8", "The UTF-8 of many texts joined, and its lower case, in C.", -1, methods,
};

PyMODINIT_FUNC
PyInit__utf8(void)
{
    return PyModule_Create(&module);
}
