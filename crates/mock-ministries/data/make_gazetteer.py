#!/usr/bin/env python3
"""Converts the pumi project's gazetteer (YAML, one file per level) into the compact
TSV that the mock ministries embed: one unit per line, sorted by code,

    code <TAB> type_km <TAB> name_km <TAB> name_latin <TAB> lat <TAB> lon

lat/lon are empty where the source has no point (villages, some communes).
Run once, by hand, when the source changes:

    python3 make_gazetteer.py /path/to/gazetteer > gazetteer.tsv

Needs PyYAML. Names are written in Unicode NFC.
"""
import os
import sys
import unicodedata

import yaml

LEVELS = ["provinces", "districts", "communes", "villages"]
KINDS = {"រាជធានី", "ខេត្ត", "ក្រុង", "ស្រុក", "ខណ្ឌ", "ឃុំ", "សង្កាត់", "ភូមិ"}


def clean(text):
    text = unicodedata.normalize("NFC", str(text or "")).strip()
    if "\t" in text or "\n" in text:
        raise ValueError(f"tab or newline in {text!r}")
    return text


def main(folder):
    rows = {}
    for level in LEVELS:
        with open(os.path.join(folder, f"{level}.yml"), encoding="utf-8") as f:
            units = yaml.safe_load(f)[level]
        for code, unit in units.items():
            code = str(code)
            kind = clean(unit["administrative_unit"]["km"])
            if kind not in KINDS:
                raise ValueError(f"{code}: unknown unit type {kind!r}")
            geo = unit.get("geodata") or {}
            rows[code] = (
                code,
                kind,
                clean(unit["name"]["km"]),
                clean(unit["name"].get("latin")),
                clean(geo.get("lat")),
                clean(geo.get("long")),
            )
    for code in rows:
        if len(code) > 2 and code[:-2] not in rows:
            raise ValueError(f"{code}: parent {code[:-2]} missing")
    out = sys.stdout
    for code in sorted(rows):
        out.write("\t".join(rows[code]) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/gazetteer")
