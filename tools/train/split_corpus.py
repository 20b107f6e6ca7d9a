#!/usr/bin/env python3
# Turns the output of Debian's `bible "Gen1:1-Rev22:21"` (bible-kjv) into plain text and splits
# it, by chapter, into disjoint train / eval / calibration files. Called by prepare_corpus.sh.
#
# Output format (all three files): one verse per line, verse numbers and chapter headings
# removed, the 80-column line wrapping undone (a wrapped verse is joined with one space);
# chapters are separated by one empty line. Text is ASCII, lines end in "\n".
#
# Split (chapter index i = 0..1188 in canonical order, Genesis 1 = 0):
#   i % 20 == 10  -> eval.txt         (every 20th chapter)
#   i % 20 == 11  -> calibration.txt  (the chapter right after each eval chapter)
#   otherwise     -> train.txt
import argparse
import re
import sys

VERSE_RE = re.compile(r"^ +(\d+) (.*)$")


def parse_chapters(lines):
    """Yields (heading, [verse text, ...]) for each chapter of the bible(1) listing."""
    heading, verses, previous_blank = None, [], True
    for raw in lines:
        line = raw.rstrip("\n").rstrip()
        if not line:
            previous_blank = True
            continue
        match = VERSE_RE.match(line)
        if match:
            expected = len(verses) + 1
            if int(match.group(1)) != expected:
                sys.exit(f"split_corpus: {heading}: verse {match.group(1)}, expected {expected}")
            verses.append(match.group(2).strip())
        elif previous_blank:
            # A non-indented line after an empty one is a chapter heading ("1 Samuel 3").
            if heading is not None:
                yield heading, verses
            heading, verses = line, []
        else:
            if not verses:
                sys.exit(f"split_corpus: continuation line before any verse: {line!r}")
            verses[-1] += " " + line.strip()
        previous_blank = False
    if heading is not None:
        yield heading, verses


def main():
    parser = argparse.ArgumentParser(description="Split the bible(1) KJV listing into corpus files.")
    parser.add_argument("--train", required=True)
    parser.add_argument("--eval", required=True)
    parser.add_argument("--calibration", required=True)
    args = parser.parse_args()

    chapters = list(parse_chapters(sys.stdin))
    n_verses = sum(len(v) for _, v in chapters)
    # The Authorized Version has 1,189 chapters and 31,102 verses; anything else means the
    # listing format changed under us.
    if len(chapters) != 1189 or n_verses != 31102:
        sys.exit(f"split_corpus: got {len(chapters)} chapters / {n_verses} verses, "
                 "expected 1189 / 31102")

    splits = {"train": [], "eval": [], "calibration": []}
    for index, (_, verses) in enumerate(chapters):
        name = {10: "eval", 11: "calibration"}.get(index % 20, "train")
        splits[name].append("\n".join(verses) + "\n")

    for name, path in (("train", args.train), ("eval", args.eval),
                       ("calibration", args.calibration)):
        text = "\n".join(splits[name])
        with open(path, "w", encoding="ascii", newline="\n") as out:
            out.write(text)
        print(f"{name:12s} {len(splits[name]):5d} chapters {len(text.encode()):9d} bytes -> {path}")


if __name__ == "__main__":
    main()
