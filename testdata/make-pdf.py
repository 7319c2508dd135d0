#!/usr/bin/env python3
"""Writes a small, valid PDF with the text read from stdin (one line per text line; a line
holding only "\\f" starts a new page). Helvetica, WinAnsi encoding, content streams
FlateDecode-compressed unless --plain. Used to make the PDFs of testdata/ (the search-quality
corpus and the browser tests); any PDF reader shows them.

    python3 testdata/make-pdf.py < notes.txt > testdata/documents/notes.pdf
"""
import sys
import zlib


def escape(line):
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def page_content(lines):
    shown = " ".join("(%s) '" % escape(l) for l in lines)
    return ("BT /F1 11 Tf 56 770 Td 15 TL %s ET" % shown).encode("cp1252")


def build(pages, compress=True):
    objects = []  # index 0 = object 1
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(None)  # pages tree, filled below
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for lines in pages:
        data = page_content(lines)
        if compress:
            data = zlib.compress(data)
            stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
        else:
            stream = b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
        objects.append(stream)
        content_id = len(objects)
        objects.append(("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                        "/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id).encode())
        kids.append("%d 0 R" % len(objects))
    objects[1] = ("<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join(kids), len(kids))).encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for o in offsets:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def main():
    compress = "--plain" not in sys.argv
    pages, current = [], []
    for line in sys.stdin.read().splitlines():
        if line.strip() == "\\f":
            pages.append(current)
            current = []
        else:
            current.append(line)
    pages.append(current)
    sys.stdout.buffer.write(build(pages, compress))


if __name__ == "__main__":
    main()
