"""Reads an XLSX workbook as a spreadsheet program would (openpyxl) and prints each
sheet's title, frozen panes and cell values as JSON, for the tests to assert on."""
import json
import sys

import openpyxl

book = openpyxl.load_workbook(sys.argv[1])
sheets = []
for sheet in book.worksheets:
    rows = [["" if cell is None else str(cell) for cell in row]
            for row in sheet.iter_rows(values_only=True)]
    sheets.append({"title": sheet.title, "freeze": sheet.freeze_panes, "rows": rows})
print(json.dumps(sheets, ensure_ascii=False))
