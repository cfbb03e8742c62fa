"""What the word-list scripts (plurals.py, forms.py) read from WordNet 3.0's database (Debian's
wordnet-base, /usr/share/wordnet): each index file's lemmas with their tagged-sense counts."""
import re


def read_index(path):
    """lemma -> tagged-sense count, for lemmas of 3 to 10 lower-case letters."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith(" "):
                continue
            p = line.split()
            lemma, p_cnt = p[0], int(p[3])
            tagged = int(p[5 + p_cnt])
            if re.fullmatch(r"[a-z]{3,10}", lemma) and tagged > 0:
                out[lemma] = tagged
    return out
