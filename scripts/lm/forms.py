#!/usr/bin/env python3
"""Two more word lists for chapter 5's homework question (d), meta-learning a soft prompt's
initialisation over tasks: assets/lm/past.tsv (verb -> simple past: walk -> walked, carry ->
carried, stop -> stopped, run -> ran) and assets/lm/comparative.tsv (adjective -> comparative:
tall -> taller, happy -> happier, big -> bigger, good -> better). Written once and committed, from
WordNet 3.0 alone (Debian's wordnet-base, /usr/share/wordnet) and the Python standard library.

Words: WordNet verbs (index.verb) or adjectives (index.adj) with at least one tagged sense (the
tagsense_cnt field), 3 to 10 lower-case letters (so two-letter verbs such as go and be are out, as
in the pluralize list).

Past tense. verb.exc lists inflected forms with their bases ("went go", "gone go", "running run"),
past tenses, past participles and -ing forms mixed. A verb's past is its exception, chosen so:
  1. drop the -ing forms (ending in "ing", longer than the base) and the -s forms (ending in "s");
  2. drop the participles in -n/-ne (gone, seen, taken, shown, borne) unless the base itself
     (less a final e) ends in n (ran, began, shone stay);
  3. of two left that differ only in one letter, a in one and u in the other, the a form is the
     past (began/begun, sang/sung, swam/swum); any other choice left over is ambiguous: dropped;
  4. none left: the regular rule below (show -> showed, since shown was a participle), except the
     verbs whose past is the base itself (UNCHANGED: cut, put, set, ...), which WordNet cannot list.
Exceptions WordNet keeps from older English (ARCHAIC: addrest, wrought, clad) are not used. Verbs
with two pasts in common use, by sense or by spelling (AMBIGUOUS: lie -> lay or lied, hang -> hung
or hanged, dream -> dreamt or dreamed, ...), are dropped.
Regular past: a final e takes d (bake -> baked); a final y after a consonant becomes ied (carry ->
carried); a one-syllable word ending in one vowel letter and one consonant other than w, x, y
doubles it (stop -> stopped; rain, fix, play do not); any other word takes ed. Longer words that
double (prefer -> preferred, travel -> travelled) are in verb.exc, and its spelling is kept.

Comparative. Adjectives of one syllable, or of two ending in a consonant and y (happy); the others
take "more" and are left out. Syllables are groups of vowel letters (y one after a consonant), a
final silent e not counted (large, but not simple). Also left out: adjectives with no sense in the
descriptive lexicographer file adj.all (relational and participial ones: dutch, dried); verb forms
(an inflected form in verb.exc, or -ed/-ing of a WordNet verb: lost, tied, going); the UNCHANGED
pasts (cut, set); and NOT_GRADABLE, read by hand among the frequent ones (last, same, dead, one).
The comparative: adj.exc's form when it lists one, superlatives (-st) aside (good -> better, big
-> bigger), dropped as ambiguous when it lists two (dry -> drier or dryer); otherwise the regular
rule: a final e takes r (large -> larger), a final y after a consonant becomes ier, a one-syllable
word ending in one vowel letter and one consonant other than w, x, y doubles it (big -> bigger),
any other takes er.

Rules, named as the pluralize list names them so one reader takes all three (`plurals::parse`):
"+s" the plain suffix (+ed, +er), "+es" a final e dropped or a consonant doubled (baked, stopped,
larger, bigger), "y->ies" y -> ied or ier, "unchanged" the base itself (cut), "irregular" anything
else (ran, better). The base is in the `singular` column and the form in `plural`.

Split: the 340 most frequent (tagged senses, then alphabetical) shuffled with seed 0; the last 40
are validation ("val"), the rest training ("train"). Only these rows are written.

Usage: python3 scripts/lm/forms.py past > assets/lm/past.tsv
       python3 scripts/lm/forms.py comparative > assets/lm/comparative.tsv
Needs: apt-get install wordnet-base.
"""
import argparse
import random
import re
import sys

from wordnet import read_index

POOL, VAL = 340, 40
VOWELS = "aeiou"

# Verbs whose past tense is the base itself; WordNet lists no exception for them.
UNCHANGED = {
    "beat", "bet", "bid", "broadcast", "burst", "cast", "cost", "cut", "forecast", "hit", "hurt",
    "let", "offset", "outbid", "put", "quit", "read", "recast", "reset", "rid", "set", "shed",
    "shut", "slit", "split", "spread", "thrust", "undercut", "upset",
}
# Verbs with two pasts in common use, by sense (lie: lay, lied; hang: hung, hanged) or by spelling
# (dream: dreamt, dreamed; dive: dove, dived).
AMBIGUOUS = {
    "abide", "bereave", "burn", "bust", "cleave", "crow", "dive", "dream", "dwell", "fit", "gild",
    "gird", "hang", "heave", "kneel", "knit", "lean", "leap", "learn", "lie", "light", "plead",
    "shine", "smell", "sneak", "speed", "spell", "spill", "spoil", "stave", "strive", "sweat",
    "thrive", "weave", "wed",
}
# Archaic or literary spellings in verb.exc, not used: the regular past is (address -> addressed,
# work -> worked, clothe -> clothed).
ARCHAIC = {"addrest", "blest", "bypast", "chid", "clad", "curst", "gript", "pent", "transfixt",
           "wrought"}
# Adjectives the syllable rule misreads (two vowel letters, two syllables: flu-id) or that take no
# -er (classifiers, numbers, quantifiers, absolutes), read by hand among the candidates.
NOT_GRADABLE = {
    "all", "back", "base", "best", "bluish", "boon", "both", "brute", "bully", "chance", "chief",
    "choice", "crack", "damn", "dead", "down", "dual", "due", "each", "east", "eight", "eighth",
    "eighty", "fake", "far", "fifth", "fifty", "first", "five", "fluid", "forty", "four", "fourth",
    "front", "giant", "gold", "half", "here", "home", "ill", "joint", "just", "key", "last",
    "less", "like", "live", "lone", "main", "male", "mere", "mid", "mock", "more", "most", "much",
    "naive", "nearby", "net", "next", "nine", "ninth", "north", "null", "off", "one", "out", "own",
    "past", "plane", "pliant", "prime", "pro", "rank", "real", "rear", "right", "same", "self",
    "side", "sixty", "size", "sole", "some", "south", "spare", "such", "top", "twenty", "west",
    "whole", "worth", "wrong", "very", "any", "many", "only", "sheer", "salt", "gauche", "chic",
    "bronze", "dun", "mauve", "neo", "prone", "else", "kin", "flush", "squat", "mass", "pet",
    "sham", "stock", "mint", "plus", "ace", "bass", "beige", "blah", "bum", "camp", "class",
    "deathly", "knightly", "mum",
}


def lemmas(path):
    with open(path) as f:
        return {line.split()[0] for line in f if not line.startswith(" ")}


def read_exc(path):
    """base -> the inflected forms WordNet lists for it, in the file's order."""
    out = {}
    with open(path) as f:
        for line in f:
            p = line.split()
            for base in p[1:]:
                if re.fullmatch(r"[a-z]+", p[0]):
                    out.setdefault(base, []).append(p[0])
    return out


def descriptive_adjectives(path):
    """Adjectives with a sense in the lexicographer file adj.all (number 00)."""
    out = set()
    with open(path) as f:
        for line in f:
            if line.startswith(" "):
                continue
            p = line.split()
            if p[1] == "00":
                n = int(p[3], 16)
                out.update(p[4 + 2 * i] for i in range(n))
    return out


def syllables(w):
    """Groups of vowel letters (y one when it follows a consonant), less a final silent e: one after
    a consonant (large), but not in -le after a consonant (simple)."""
    n = len(re.findall(r"[aeiou]+|(?<=[^aeiou])y", w))
    if n > 1 and re.search(r"[^aeiou]e$", w) and not re.search(r"[^aeiou]le$", w):
        n -= 1
    return n


def doubles(w):
    """One syllable ending in one vowel letter and one consonant other than w, x, y."""
    return syllables(w) == 1 and re.search(r"(^|[^aeiou])[aeiou][^aeiouwxy]$", w) is not None


def regular(w, suffix):
    """The regular inflection of `w` with "ed" or "er", as the module docstring states."""
    if w.endswith("e"):
        return w + suffix[1:]
    if w.endswith("y") and w[-2] not in VOWELS:
        return w[:-1] + "i" + suffix
    if doubles(w):
        return w + w[-1] + suffix
    return w + suffix


def rule(base, form, suffix):
    if form == base:
        return "unchanged"
    if form == base + suffix:
        return "+s"
    if (base.endswith("e") and form == base + suffix[1:]) or form == base + base[-1] + suffix:
        return "+es"
    if base.endswith("y") and form == base[:-1] + "i" + suffix:
        return "y->ies"
    return "irregular"


def past(base, exc):
    """The simple past of `base`, or None when it is ambiguous."""
    if base in AMBIGUOUS:
        return None
    if base in UNCHANGED:
        return base
    forms = [f for f in exc.get(base, []) if f != base and f not in ARCHAIC
             and not (f.endswith("ing") and len(f) > len(base)) and not f.endswith("s")]
    stem_n = base.rstrip("e").endswith("n")
    forms = [f for f in forms if stem_n or not (f.endswith("n") or f.endswith("ne"))]
    forms = list(dict.fromkeys(forms))
    if len(forms) == 2:
        a, b = forms
        diff = [(x, y) for x, y in zip(a, b) if x != y]
        if len(a) == len(b) and len(diff) == 1 and set(diff[0]) == {"a", "u"}:
            forms = [a if diff[0][0] == "a" else b]
    if len(forms) > 1:
        return None
    return forms[0] if forms else regular(base, "ed")


def comparative(base, exc):
    forms = [f for f in exc.get(base, []) if not f.endswith("st") and f != base]
    if len(forms) > 1:
        return None
    return forms[0] if forms else regular(base, "er")


def is_verb_form(w, verb_forms, verbs):
    if w in verb_forms:
        return True
    if w.endswith("ing"):
        return True
    if w.endswith("ed"):
        return any(s in verbs for s in (w[:-1], w[:-2], w[:-3] + "y", w[:-3]))
    return False


def rows_for(task, wordnet):
    verb_exc = read_exc(f"{wordnet}/verb.exc")
    if task == "past":
        index = read_index(f"{wordnet}/index.verb")
        return [(w, past(w, verb_exc), t, "ed") for w, t in index.items()]
    index = read_index(f"{wordnet}/index.adj")
    adj_exc = read_exc(f"{wordnet}/adj.exc")
    descriptive = descriptive_adjectives(f"{wordnet}/data.adj")
    verbs = lemmas(f"{wordnet}/index.verb")
    verb_forms = {f for fs in verb_exc.values() for f in fs}
    out = []
    for w, t in index.items():
        n = syllables(w)
        if not (n == 1 or (n == 2 and re.search(r"[^aeiou]y$", w))):
            continue
        if (w not in descriptive or is_verb_form(w, verb_forms, verbs) or w in UNCHANGED
                or w in NOT_GRADABLE):
            continue
        out.append((w, comparative(w, adj_exc), t, "er"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=["past", "comparative"])
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    args = ap.parse_args()
    rows = rows_for(args.task, args.wordnet)
    dropped = [r[0] for r in rows if r[1] is None]
    rows = [(w, f, rule(w, f, s), t) for w, f, t, s in rows if f is not None]
    pool = sorted(rows, key=lambda r: (-r[3], r[0]))[:POOL]
    names = [r[0] for r in pool]
    random.Random(0).shuffle(names)
    split = {w: "train" for w in names[:-VAL]}
    split.update({w: "val" for w in names[-VAL:]})
    what = {"past": "verb -> simple past", "comparative": "adjective -> comparative"}[args.task]
    out = sys.stdout
    out.write(f"# The {args.task} word list ({what}; scripts/lm/forms.py; WordNet 3.0 only).\n")
    out.write("# WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. (licence: assets/lm/WORDNET-LICENSE)\n")
    out.write("# Columns as in plurals.tsv: singular = the base, plural = the form. Rules: +s = the plain suffix,\n")
    out.write("# +es = a final e dropped or a consonant doubled, y->ies = y -> i + suffix, unchanged, irregular.\n")
    out.write("singular\tplural\trule\tsplit\ttagged_senses\n")
    for w, f, r, t in sorted(pool):
        out.write(f"{w}\t{f}\t{r}\t{split[w]}\t{t}\n")
    counts = {}
    for w, _, r, _ in pool:
        counts[(split[w], r)] = counts.get((split[w], r), 0) + 1
    print(f"{args.task}: {len(rows)} words, {len(dropped)} ambiguous dropped "
          f"({' '.join(sorted(dropped)[:30])}); the pool of {len(pool)}:", file=sys.stderr)
    for k in sorted(counts):
        print(f"  {k[0]:6} {k[1]:10} {counts[k]}", file=sys.stderr)


if __name__ == "__main__":
    main()
