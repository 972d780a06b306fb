#!/usr/bin/env python3
"""An independent reference for the llama2.c tokenizer, written from run.c's description (not from resa's code).

Prints the token ids run.c's encode(text, bos=1, eos=0) gives, for the expectations in tests/test_tokenizer.cpp:
    python3 tests/tools/llama2c_tokenize.py models/stories260K/tok512.bin 512 "Tom and Sue went to the beach"
"""
import struct
import sys


def load(path, vocab_size):
    data = open(path, "rb").read()
    (max_len,) = struct.unpack_from("<i", data, 0)
    off, pieces, scores = 4, [], []
    for _ in range(vocab_size):
        score, n = struct.unpack_from("<fi", data, off)
        off += 8
        pieces.append(data[off:off + n])
        scores.append(score)
        off += n
    return pieces, scores


def encode(pieces, scores, text):
    lookup = {}
    for i, p in enumerate(pieces):
        lookup.setdefault(p, i)
    ids = [1]
    if text:
        ids.append(lookup[b" "])
    for ch in text:  # one lookup per Unicode character; bytes + 3 when it has no piece
        b = ch.encode("utf-8")
        if b in lookup:
            ids.append(lookup[b])
        else:
            ids.extend(x + 3 for x in b)
    while True:
        best = None
        for i in range(len(ids) - 1):
            j = lookup.get(pieces[ids[i]] + pieces[ids[i + 1]])
            if j is not None and (best is None or scores[j] > best[0]):
                best = (scores[j], j, i)
        if best is None:
            return ids
        _, j, i = best
        ids[i:i + 2] = [j]


if __name__ == "__main__":
    pieces, scores = load(sys.argv[1], int(sys.argv[2]))
    for text in sys.argv[3:]:
        print(" ".join(map(str, encode(pieces, scores, text))))
