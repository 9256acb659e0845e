#!/usr/bin/env bash
# Regenerates the PDF fixtures of tests/readers_test.cc that the test cannot write by hand: a PDF
# from a real producer (cairo, with an embedded subset TrueType font and a ToUnicode map) holding
# Chinese and English text, and two qpdf-encrypted copies of it. The text is our own.
# Needs (not build dependencies): python3-cairo fonts-wqy-microhei qpdf.
set -euo pipefail
cd "$(dirname "$0")"

/usr/bin/python3 - <<'PY'
import cairo

pages = [
    ["第一条 合同标的", "甲方向乙方采购办公设备一批。", "Article 1 Subject Matter",
     "The Seller shall deliver the goods by 30 June."],
    ["第二条 付款", "乙方应在收货后三十日内付款。", "Article 2 Payment",
     "The Buyer shall pay within thirty days."],
]
surface = cairo.PDFSurface("zh-en-cairo.pdf", 595, 842)
surface.set_metadata(cairo.PDFMetadata.CREATE_DATE, "2024-01-01T00:00:00Z")
ctx = cairo.Context(surface)
ctx.select_font_face("WenQuanYi Micro Hei", cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_NORMAL)
ctx.set_font_size(14)
for lines in pages:
    y = 80
    for line in lines:
        ctx.move_to(72, y)
        ctx.show_text(line)
        y += 28
    ctx.show_page()
surface.finish()
PY

rm -f encrypted-user-password.pdf owner-password-only.pdf
# A user password: nothing can be read without it.
qpdf --encrypt secret owner-secret 256 -- zh-en-cairo.pdf encrypted-user-password.pdf
# Only an owner password (permissions): any reader opens it without a password.
qpdf --encrypt "" owner-secret 256 --print=none -- zh-en-cairo.pdf owner-password-only.pdf
ls -l *.pdf
