#!/usr/bin/env python3
"""The pluralize word list for the language model (chapters 4 and 5), written once and committed as
assets/lm/plurals.tsv so that neither CI nor a reader needs PyPI.

Nouns: WordNet 3.0 nouns (Debian's wordnet-base, /usr/share/wordnet) with at least one tagged sense,
3 to 10 lower-case letters. Labels: the plural the notebook's `inflect` library gives (7.5.0:
person -> people, not persons), kept only where WordNet's noun.exc agrees (when noun.exc lists
plurals for a noun, inflect's must be one of them) and the plural starts with the singular's first
letter (inflect reads "mine" as a pronoun: mine -> ours). Each noun is tagged with its rule: +s, +es,
y->ies, f->ves, -man->-men, irregular (any other change) or unchanged.

Split (seeded, as in the notebook): the irregular nouns foot, man, person, self, wife, wolf, woman
are the test set; 40 nouns (10 of them irregular) and 40 nonce words ("wug") are a diagnostic set
that the generated training sentences never contain; of the remaining nouns the most frequent
(WordNet's tagged-sense count) of each rule form a pool of about 450, shuffled with seed 0: the
last 10% are validation, the rest training. Every other noun is `corpus` (sentences only).

Usage: python3 scripts/lm/plurals.py [--wordnet /usr/share/wordnet] > assets/lm/plurals.tsv
Needs: pip install inflect==7.5.0; apt-get install wordnet-base.
"""
import argparse
import random
import re
import sys

from wordnet import read_index

import inflect

TEST = ["foot", "man", "person", "self", "wife", "wolf", "woman"]
# Per rule: how many of the most frequent nouns go into the train/validation pool.
POOL = {"+s": 180, "+es": 70, "y->ies": 70, "f->ves": 20, "-man->-men": 20,
        "irregular": 32, "unchanged": 20}
# The diagnostic nouns: 30 regular ones, and 10 irregular ones by kind (WordNet's tagged nouns hold
# only about 17 f->ves nouns, all in the pool).
DIAGNOSTIC_REGULAR, NONCE = 30, 40
DIAGNOSTIC_IRREGULAR = {"irregular": 4, "unchanged": 3, "-man->-men": 3}
REGULAR = {"+s", "+es", "y->ies"}


def rule(s, p):
    if p == s:
        return "unchanged"
    if s.endswith("man") and p == s[:-3] + "men":
        return "-man->-men"
    if p == s + "s":
        return "+s"
    if p == s + "es":
        return "+es"
    if s.endswith("y") and p == s[:-1] + "ies":
        return "y->ies"
    if (s.endswith("f") and p == s[:-1] + "ves") or (s.endswith("fe") and p == s[:-2] + "ves"):
        return "f->ves"
    return "irregular"


def read_exc(path):
    """singular -> set of plurals WordNet lists as exceptions."""
    out = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 2:
                out.setdefault(p[1], set()).add(p[0])
    return out


def all_lemmas(wordnet):
    words = set()
    for pos in ["noun", "verb", "adj", "adv"]:
        with open(f"{wordnet}/index.{pos}") as f:
            words.update(line.split()[0] for line in f if not line.startswith(" "))
    return words


def nonce_words(rng, known, engine, n):
    onsets = ["b", "bl", "br", "d", "dr", "f", "fl", "g", "gl", "gr", "k", "kl", "m", "n", "p",
              "pl", "pr", "s", "sk", "sl", "sn", "sp", "st", "t", "tr", "v", "w", "z"]
    vowels = ["a", "e", "i", "o", "u", "oo", "ee", "ai"]
    codas = ["b", "d", "g", "k", "m", "n", "p", "t", "x", "sh", "ch", "sk", "nd", "mp", "ff", "y"]
    out = []
    while len(out) < n:
        w = rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
        if w not in known and w not in out and 3 <= len(w) <= 10:
            out.append(w)
    return [(w, engine.plural_noun(w)) for w in out]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    args = ap.parse_args()
    engine = inflect.engine()
    index = read_index(f"{args.wordnet}/index.noun")
    exc = read_exc(f"{args.wordnet}/noun.exc")
    rows, dropped = [], 0
    for s, tagged in index.items():
        p = engine.plural_noun(s)
        if not p or not re.fullmatch(r"[a-z]+", p):
            dropped += 1
            continue
        # inflect reads a few nouns as pronouns (mine -> ours): a plural keeps the first letter.
        if s in exc and p not in exc[s] or p[0] != s[0]:
            dropped += 1
            continue
        rows.append((s, p, rule(s, p), tagged))
    rng = random.Random(0)
    by_rule = {}
    for r in sorted(rows, key=lambda r: (-r[3], r[0])):
        if r[0] not in TEST:
            by_rule.setdefault(r[2], []).append(r)
    split = {s: "test" for s in TEST}
    # The diagnostic nouns: drawn from the frequent ones, outside the train/validation pool.
    regular = [r for k in REGULAR for r in by_rule[k][POOL[k]:POOL[k] + 200]]
    for r in rng.sample(sorted(regular), DIAGNOSTIC_REGULAR):
        split[r[0]] = "diagnostic"
    for k, n in DIAGNOSTIC_IRREGULAR.items():
        for r in rng.sample(sorted(by_rule[k][POOL[k]:POOL[k] + 40]), n):
            split[r[0]] = "diagnostic"
    pool = [r[0] for k, n in POOL.items() for r in by_rule[k][:n]]
    rng.shuffle(pool)
    n_val = len(pool) // 10
    for s in pool[: len(pool) - n_val]:
        split[s] = "train"
    for s in pool[len(pool) - n_val:]:
        split[s] = "val"
    out = sys.stdout
    out.write("# The pluralize word list (scripts/lm/plurals.py; WordNet 3.0 nouns, labels from inflect 7.5.0).\n")
    out.write("# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. (licence: assets/lm/WORDNET-LICENSE)\n")
    out.write("singular\tplural\trule\tsplit\ttagged_senses\n")
    for s, p, r, tagged in sorted(rows):
        out.write(f"{s}\t{p}\t{r}\t{split.get(s, 'corpus')}\t{tagged}\n")
    for s, p in nonce_words(rng, all_lemmas(args.wordnet), engine, NONCE):
        out.write(f"{s}\t{p}\t{rule(s, p)}\tnonce\t0\n")
    counts = {}
    for s, p, r, _ in rows:
        k = (split.get(s, "corpus"), r)
        counts[k] = counts.get(k, 0) + 1
    print(f"{len(rows)} nouns ({dropped} dropped: no plural from inflect, or noun.exc disagrees)",
          file=sys.stderr)
    for k in sorted(counts):
        print(f"  {k[0]:10} {k[1]:12} {counts[k]}", file=sys.stderr)


if __name__ == "__main__":
    main()
