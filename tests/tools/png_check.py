#!/usr/bin/env python3
"""png_check.py SHOT.png: what a person would see on a screenshot, as numbers.

Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) with the standard
library only and checks the page is not blank: enough pixels that are not
the background, and the colours the report draws its verdicts in (the
matrix's green 'found' cells, the timeline's red violation marker).
Prints one line; exit 0 when it looks like the report, 1 otherwise.
"""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG (depth %d, colour type %d)" % (depth, ctype))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    i = 0
    for _ in range(h):
        f = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def near(px, rgb, tol=12):
    return all(abs(px[k] - rgb[k]) <= tol for k in range(3))


def main():
    w, h, bpp, rows = pixels(sys.argv[1])
    ink = green = red = 0
    colours = set()
    for line in rows:
        for x in range(0, w * bpp, bpp):
            px = line[x:x + 3]
            colours.add(bytes(px))
            if min(px) < 235:
                ink += 1
            if near(px, (0xb2, 0xf2, 0xbb)):
                green += 1
            if near(px, (0xe0, 0x31, 0x31)):
                red += 1
    share = ink / float(w * h)
    ok = share > 0.02 and len(colours) >= 16 and green > 100 and red > 20
    print("%dx%d: %.1f%% ink, %d colours, %d 'found' green, %d violation red: %s"
          % (w, h, 100 * share, len(colours), green, red, "ok" if ok else "BLANK or not the report"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
